"""What production runs on (dashboard.settings, as `make run` and `manage.py
serve` load it) holds nothing test-only: no "fake" channel."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.live import ROOT

pytestmark = pytest.mark.smoke

REPORT = (
    "import json; from messaging.integrations.registry import REGISTRY;"
    "print(json.dumps({'types': sorted(REGISTRY)}))"
)


def production_shell(tmp_path, **env):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PARLEY_"))}
    child.update({"PARLEY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env})
    return subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", REPORT], cwd=ROOT,
                          env=child, capture_output=True, text=True)


def test_the_production_registry_has_no_test_channel(tmp_path):
    result = production_shell(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert "web" in values["types"] and "telegram" in values["types"]
    assert "fake" not in values["types"]
