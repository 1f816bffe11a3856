"""What every bench needs: a free port, percentiles, stopping a process
group, waiting for a process's log line, a process's CPU time."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    """The q-th percentile (nearest rank); NaN for no values."""
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


def stop_group(proc) -> None:
    """SIGTERM the process group started with start_new_session, SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_for_log(path: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise SystemExit(f"{path.name} never said {text!r}:\n" + (path.read_text() if path.exists() else ""))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# Rate limits far above what a bench sends, through the documented settings
# (README, "Rate limits"): a bench measures Parley, not its limiter.
BENCH_RATES = {
    name: "1000000/1s"
    for name in (
        "PARLEY_RATE_API_KEY", "PARLEY_RATE_APP_TOKEN", "PARLEY_RATE_APP_USER", "PARLEY_RATE_INIT",
        "PARLEY_RATE_SIGN_IN", "PARLEY_RATE_PASSWORD_RESET", "PARLEY_RATE_SIGN_UP", "PARLEY_RATE_SOCKET",
    )
}
