"""Load from `wrk` (Debian's package): a C load generator costs little CPU,
so the figures measure Parley, not the Python client. A Lua script builds
each request (the POST body, the JWT) and reports through wrk's done()
hook as one JSON line."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

DONE = r'''
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
'''

PING = "wrk.method = 'GET'\nwrk.path = '/v1/ping'\n" + DONE


def send_script(users: list[str], token: str, prefix: str = "wrk message") -> str:
    """POST /v1/appusers/{id}/messages (appMaker text) to each user in turn."""
    listed = ", ".join(json.dumps(u) for u in users)
    return f'''
local users = {{{listed}}}
local counter = 0
request = function()
  counter = counter + 1
  local body = '{{"role":"appMaker","type":"text","text":"{prefix} ' .. counter ..
    '","name":"Bench","email":"bench@example.com"}}'
  return wrk.format("POST", "/v1/appusers/" .. users[(counter % #users) + 1] .. "/messages",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}, body)
end
''' + DONE


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is required: apt-get install wrk (Debian's package)")
    return path


def start(url: str, script: str, connections: int, seconds: float) -> subprocess.Popen:
    """wrk running against `url` (one thread: this machine has two cores)."""
    path = Path(tempfile.mkstemp(suffix=".lua", prefix="parley-wrk-")[1])
    path.write_text(script)
    return subprocess.Popen([require_wrk(), "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
                             "-s", str(path), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    line = next((line for line in out.splitlines() if line.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed:\n{out}\n{err}")
    raw = json.loads(line[len("WRKJSON "):])
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    good = raw["requests"] - raw["status"]
    return {"rps": round(good / (raw["duration_us"] / 1e6), 1), "requests": raw["requests"],
            "p50_ms": round(raw["p50_us"] / 1000, 2), "p99_ms": round(raw["p99_us"] / 1000, 2), "errors": errors}


def run(url: str, script: str, connections: int, seconds: float) -> dict:
    return result(start(url, script, connections, seconds))
