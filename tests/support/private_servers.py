"""PostgreSQL and Redis instances of a test's own, on other ports, for the
tests that stop and restart them (readiness, fault survival): the suite's
own servers stay up."""

import os
import shutil
import subprocess
import sys

from tests.support.live import ROOT, child_env, free_port


def _needs(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise AssertionError(f"{program} is missing: install Debian's {package} (apt-get install {package})")
    return path


class PrivateRedis:
    """A redis-server on its own port, without persistence; `kill()` and
    `start()` take it down and bring it back on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_needs("redis-server", "redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own on another port
    (pg_createcluster: initdb refuses to run as root), migrated, so that
    stopping it leaves the suite's server alone."""

    def __init__(self, name: str = "parley_private"):
        _needs("pg_createcluster", "postgresql")
        self.version = sorted(os.listdir("/usr/lib/postgresql"))[-1]
        self.name, self.port = f"{name}_{os.getpid()}", free_port()
        subprocess.run(["pg_createcluster", self.version, self.name, "-p", str(self.port), "--start",
                        "--", "--auth=trust"], check=True, capture_output=True, timeout=120)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, timeout=300,
                       env=child_env(DATABASE_URL=self.url))

    def ctl(self, action: str) -> None:
        """pg_ctlcluster `action` (stop: fast shutdown, sessions cut; start)."""
        subprocess.run(["pg_ctlcluster", self.version, self.name, action], check=True, capture_output=True,
                       timeout=60)

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", self.version, self.name, "--stop"], capture_output=True, timeout=120)
