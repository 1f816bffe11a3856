"""Settings read the environment and refuse unsafe values."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.live import ROOT

pytestmark = pytest.mark.smoke


def settings_in_child(env, tmp_path):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"))}
    child.update({"PARLEY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings"})
    child.update(env)
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "db = settings.DATABASES['default'];"
        "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'debug': settings.DEBUG,"
        "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'secure': settings.SESSION_COOKIE_SECURE,"
        "'tasks': settings.TASKS['default']['BACKEND'], 'failover': settings.PARLEY_FAILOVER_SECONDS}))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child, capture_output=True, text=True)


def test_it_runs_on_embedded_defaults_with_no_environment(tmp_path):
    result = settings_in_child({}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "parley.sqlite3")
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["tasks"] == "django_tasks_db.DatabaseBackend"
    assert values["debug"] is False and values["secure"] is True
    assert values["failover"] == 300
    # A secret key was generated and kept private under var/.
    key_file = tmp_path / "secret_key"
    assert len(key_file.read_text()) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_it_switches_to_postgres_and_redis_from_the_environment(tmp_path):
    result = settings_in_child(
        {"DATABASE_URL": "postgres://u@db.example:5432/parley", "REDIS_URL": "redis://r.example:6379/0",
         "PARLEY_FAILOVER_SECONDS": "7"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["layer"].startswith("channels_redis.")
    assert values["failover"] == 7


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SECRET_KEY": "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"PARLEY_FAILOVER_SECONDS": "soon"}, "PARLEY_FAILOVER_SECONDS"),
    ],
)
def test_it_refuses_unsafe_or_malformed_values(tmp_path, env, message):
    result = settings_in_child(env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
