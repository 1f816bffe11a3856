"""What production runs on (dashboard.settings, as `make run` and `manage.py
serve` load it) holds nothing test-only: no "fake" channel, real Gravatar;
PARLEY_OUTBOUND_ALLOW is read from the environment and refused when bad."""

import json
import os
import subprocess
import sys

import pytest

from dashboard.settings import envnetworks
from tests.support.live import ROOT

pytestmark = pytest.mark.smoke

REPORT = (
    "import json; from django.conf import settings; from messaging.integrations.registry import REGISTRY;"
    "print(json.dumps({'types': sorted(REGISTRY), 'gravatar': settings.PARLEY_GRAVATAR_URL,"
    "'allow': [str(n) for n in settings.PARLEY_OUTBOUND_ALLOW or []]}))"
)


def production_shell(tmp_path, **env):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PARLEY_"))}
    child.update({"PARLEY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env})
    return subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", REPORT], cwd=ROOT, env=child,
                          capture_output=True, text=True)


def test_the_production_registry_has_no_test_channel(tmp_path):
    result = production_shell(tmp_path, PARLEY_OUTBOUND_ALLOW="10.1.0.0/16, ::1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert "web" in values["types"] and "telegram" in values["types"]
    assert "fake" not in values["types"]
    assert values["gravatar"] == "https://www.gravatar.com/avatar/"
    assert values["allow"] == ["10.1.0.0/16", "::1/128"]


def test_a_bad_allow_list_stops_start_up_with_a_clear_error(tmp_path):
    result = production_shell(tmp_path, PARLEY_OUTBOUND_ALLOW="127.0.0.0/8,10.0.0.1/8")
    assert result.returncode != 0
    assert "PARLEY_OUTBOUND_ALLOW must be comma-separated networks such as 127.0.0.0/8,::1/128; " \
           "'10.0.0.1/8' is not one (10.0.0.1/8 has host bits set)" in result.stderr


def test_an_unset_allow_list_is_none(monkeypatch):
    monkeypatch.delenv("PARLEY_OUTBOUND_ALLOW", raising=False)
    assert envnetworks("PARLEY_OUTBOUND_ALLOW") is None
    monkeypatch.setenv("PARLEY_OUTBOUND_ALLOW", " , ")
    assert envnetworks("PARLEY_OUTBOUND_ALLOW") is None
