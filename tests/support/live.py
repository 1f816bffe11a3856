"""A real Parley server (daphne, optionally with its in-process worker) and
separate worker processes, on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout=10.0, interval=0.05, message="condition"):
    """Poll `check` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def child_env(**extra) -> dict:
    """Environment for a child process that must use the test database and
    the test settings (the fake channel, outbound calls kept on loopback)."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env.pop("DATABASE_URL", None)
        env["PARLEY_TEST_SQLITE_NAME"] = str(connection.settings_dict["NAME"])
    else:
        name = connection.settings_dict["NAME"]
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{name}"
    env["PARLEY_VAR_DIR"] = str(settings.VAR_DIR)
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["PARLEY_FAILOVER_SECONDS"] = str(settings.PARLEY_FAILOVER_SECONDS)
    env["SESSION_COOKIE_SECURE"] = "false"
    env["CSRF_COOKIE_SECURE"] = "false"
    env["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Process:
    def __init__(self, args, env, log_name):
        log_dir = ROOT / "test-artifacts" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{log_name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class LiveServer(Process):
    """daphne serving Parley on a free port (or on `port`: a process
    restarted where its predecessor listened)."""

    def __init__(self, worker: bool = True, port: int | None = None, **env):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [sys.executable, "manage.py", "serve", "--port", str(self.port), "--worker", "yes" if worker else "no"],
            child_env(**{"PARLEY_PUBLIC_URL": self.url, **env}),
            "daphne",
        )
        try:
            wait_until(self._up, timeout=30, message=f"daphne on {self.url}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"daphne did not start:\n{self.output()}")

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"daphne exited:\n{self.output()}")
        try:
            return requests.get(self.url + "/login/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False


class WorkerProcess(Process):
    def __init__(self, interval=0.1, **env):
        super().__init__(
            [sys.executable, "manage.py", "worker", "--interval", str(interval)],
            child_env(**env),
            "worker",
        )


def server_and_worker(**env) -> tuple[LiveServer, WorkerProcess]:
    """A daphne server without a worker inside and a separate worker
    process, both with `env` (platform base URLs...) and a quick worker
    tick: the split a deployment has, for end-to-end tests."""
    env = {"PARLEY_WORKER_INTERVAL": "0.1", **env}
    server = LiveServer(worker=False, **env)
    try:
        worker = WorkerProcess(**env)
    except Exception:
        server.stop()
        raise
    return server, worker
