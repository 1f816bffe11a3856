"""The deploy recipe (deploy/, README "Running at scale"): Django's deploy
checks pass with the documented production settings, the Procfile and the
units start what exists, and a backup made as the README says restores into
a scratch database that a server then serves from."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.db import connection

from messaging.models import AppUser
from tests.api.conftest import add_client, bearer, make_jwt
from tests.support.live import ROOT, LiveServer
from tests.support.ws import business_message

DEPLOY = ROOT / "deploy"
FILLED = {
    "SECRET_KEY": "k" * 20 + "J3x9-q_Zr8Lw2Vb7Nm4Tc1Ys6Hd5Gf0Ep",
    "PARLEY_SECRETS_KEY": Fernet.generate_key().decode(),
}


def production_env() -> dict:
    """deploy/production.env with its placeholders filled in."""
    env = {}
    for line in (DEPLOY / "production.env").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if value.startswith("<"):
            value = FILLED.get(name) or re.sub(r"^<([^ >]*).*$", r"\1", value)
        env[name] = value
    return env


def test_the_documented_production_settings_pass_the_deploy_checks(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PARLEY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings",
           **production_env(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    assert env["DATABASE_URL"].startswith("postgres://") and env["PARLEY_TRUSTED_PROXIES"]
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_procfile_and_the_units_run_commands_that_exist():
    commands = [line.partition(":")[2].strip() for line in (ROOT / "Procfile").read_text().splitlines() if line]
    commands += [line.partition("=")[2] for unit in DEPLOY.glob("*.service")
                 for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
                 and "manage.py" in line]
    assert len(commands) == 4
    for command in commands:
        args = shlex.split(command.replace("${PORT:-8001}", "8001").replace("%i", "8001"))
        manage = args.index("manage.py")
        result = subprocess.run([sys.executable, "manage.py", args[manage + 1], "--help"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        for option in [a for a in args[manage + 2:] if a.startswith("--")]:
            assert option in result.stdout, f"{command}: manage.py {args[manage + 1]} has no {option}"


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_scratch_database_that_serves(app, tmp_path):
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "make test runs this on PostgreSQL"
    alice = AppUser.objects.create(app=app, user_id="alice")
    add_client(alice, "web", "web-alice")
    business_message(alice, "Your order is ready")
    host = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    dump, scratch = tmp_path / "parley.dump", f"{db['NAME']}_restore"
    # As README "Backups" says: a custom-format dump, restored with pg_restore.
    subprocess.run(["pg_dump", *host, "-Fc", "-f", str(dump), db["NAME"]], check=True, timeout=120)
    subprocess.run(["dropdb", *host, "--if-exists", scratch], check=True, timeout=60)
    subprocess.run(["createdb", *host, scratch], check=True, timeout=60)
    server = None
    try:
        subprocess.run(["pg_restore", *host, "--no-owner", "-d", scratch, str(dump)], check=True, timeout=120)
        user = db.get("USER") or "postgres"
        server = LiveServer(worker=False, DATABASE_URL=f"postgres://{user}@{host[1]}:{host[3]}/{scratch}")
        headers = bearer(make_jwt(app.test_key.key_id, app.test_secret))
        response = requests.get(f"{server.url}/v1/appusers/alice/messages", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert [m["text"] for m in response.json()["messages"]] == ["Your order is ready"]
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["dropdb", *host, "--if-exists", "--force", scratch], timeout=60)


def test_the_readme_documents_the_backup_it_tests():
    readme = (ROOT / "README.md").read_text()
    assert "pg_dump" in readme and "pg_restore" in readme and "deploy/nginx.conf" in readme
    assert Path(DEPLOY / "nginx.conf").is_file()
