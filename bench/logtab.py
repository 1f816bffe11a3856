"""Log tab at scale: the first page, a deep page and the user search over
HTTP, as a logged-in member, with 1,000 log entries and with 1,000,000
(100,000 users), in the same run and on the same server.

    .venv/bin/python bench/logtab.py [--quick]

Needs PostgreSQL: the server of DATABASE_URL when set (its database is used
as is; the bench's apps are deleted at the end), else a fresh database
`parley_bench_logtab` on postgres://postgres@127.0.0.1:5432 (dropped at the
end). Data are bulk-loaded with INSERT ... SELECT generate_series. Starts
its own `manage.py serve` (daphne, no worker) and logs in through /login/.

Pages are keyset pages on LogEntry.id (never OFFSET), so a page 900,000
rows back should cost what the first does: the target is large/small
<= 1.5 for each of the three requests (median of REPEAT timed requests
after warm-up, small and large alternating request by request so that other
load on the machine hits both alike). The floor (GET /login/, no database work beyond the
session) is measured in the same run. `--quick` loads 100,000 entries
(10,000 users), says so, and finishes in well under 2 minutes.
The last line is one JSON object.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BENCH_RATES, free_port, stop_group

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
OWN_DB = "parley_bench_logtab"
PASSWORD = "bench passphrase 123"
KINDS = ["message:appUser", "message:appMaker", "delivery:success", "delivery:read", "typing:appUser",
         "conversation:read", "appUser:updated"]


def database_url() -> tuple[str, bool]:
    """(url, own): the bench's database, and whether the bench created it."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        if not url.startswith(("postgres://", "postgresql://")):
            sys.exit("bench/logtab.py needs PostgreSQL: DATABASE_URL must be a postgres:// URL")
        return url, False
    import psycopg

    try:
        with psycopg.connect(DEFAULT_SERVER + "/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {OWN_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {OWN_DB}")
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL at {DEFAULT_SERVER} is not reachable ({error}); start it or set DATABASE_URL")
    return f"{DEFAULT_SERVER}/{OWN_DB}", True


def drop_own_database():
    import psycopg

    with psycopg.connect(DEFAULT_SERVER + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {OWN_DB} WITH (FORCE)")


def setup_django(url: str, var_dir: str):
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-logtab-secret-key-not-for-production-use-0123456789")
    os.environ["PARLEY_VAR_DIR"] = var_dir
    # The test settings (inherited by the server below): outbound calls allow-listed to loopback.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(app, entries: int, users: int) -> dict:
    """Bulk-load `users` app users and `entries` log entries for `app`."""
    from django.db import connection, transaction

    kinds = "ARRAY[" + ",".join(f"'{k}'" for k in KINDS) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_appuser (id, app_id, user_id, given_name, surname, email, properties,
                signed_up_at, credential_required, conversation_started, unread_count,
                last_activity_at, created_at)
            SELECT substr(md5(%s || '-' || i), 1, 24), %s, 'bench-' || i, 'User', 'No' || i,
                   'user' || i || '@bench.example', '{}'::jsonb, now(), false, true, 0,
                   now() - (i || ' seconds')::interval, now()
            FROM generate_series(1, %s) AS i
            """,
            [app.id, app.id, users],
        )
        cursor.execute(
            f"""
            INSERT INTO messaging_logentry (app_id, kind, app_user_id, summary, detail, created_at)
            SELECT %s, ({kinds})[1 + i %% {len(KINDS)}],
                   substr(md5(%s || '-' || (1 + i %% %s)), 1, 24),
                   'Bench event ' || i || ' of user bench-' || (1 + i %% %s),
                   jsonb_build_object('n', i, 'appUser', jsonb_build_object('userId', 'bench-' || (1 + i %% %s))),
                   now() - ((%s - i) || ' milliseconds')::interval
            FROM generate_series(1, %s) AS i
            """,
            [app.id, app.id, users, users, users, entries, entries],
        )
        cursor.execute("ANALYZE messaging_logentry")
        cursor.execute("ANALYZE messaging_appuser")
    from messaging.models import LogEntry

    ids = list(LogEntry.objects.filter(app=app).order_by("-id").values_list("id", flat=True)[:1])
    top = ids[0]
    # The cursor 90% of the rows back (900,000 of 1,000,000).
    deep_back = int(entries * 0.9)
    deep = LogEntry.objects.filter(app=app).order_by("-id").values_list("id", flat=True)[deep_back]
    return {"top": top, "deep_cursor": deep, "deep_back": deep_back, "search_user": f"bench-{users // 2}"}


def start_server(url: str, var_dir: str):
    port = free_port()
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "PARLEY_VAR_DIR": var_dir, "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false", "DEBUG": "false", "PYTHONUNBUFFERED": "1",
        # Persistent connections, as a production deployment would run.
        "DATABASE_CONN_MAX_AGE": "60",
        **BENCH_RATES,
    })
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(Path(var_dir) / "daphne.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--worker", "no"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    import requests

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            sys.exit("daphne exited:\n" + (Path(var_dir) / "daphne.log").read_text())
        try:
            if requests.get(base + "/login/", timeout=1).status_code == 200:
                return proc, base
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit("daphne did not start")
        time.sleep(0.1)


def login(base: str, email: str):
    import requests

    session = requests.Session()
    # A fresh connection per request: keep-alive adds delayed-ACK stalls
    # (tens of ms) with daphne that would drown what is measured.
    session.headers["Connection"] = "close"
    session.get(base + "/login/", timeout=10)
    response = session.post(
        base + "/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base + "/login/"},
        timeout=10, allow_redirects=False,
    )
    if response.status_code != 302:
        sys.exit(f"login failed: {response.status_code}")
    return session


def timed(session, url: str, repeat: int, warmup: int, expect: str | None = None) -> float | None:
    for _ in range(warmup):
        response = session.get(url, timeout=30)
        if response.status_code != 200 or (expect and expect not in response.text):
            sys.exit(f"GET {url}: {response.status_code}, expected {expect!r} in the page")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return statistics.median(times) if times else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 entries (10,000 users) instead of 1,000,000")
    args = parser.parse_args()
    small_entries, small_users = 1_000, 100
    large_entries, large_users = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    repeat, warmup = (30, 3) if args.quick else (60, 5)
    if args.quick:
        print(f"--quick: the large app has {large_entries:,} log entries ({large_users:,} users), "
              f"not 1,000,000; the deep page is 90% of the rows back.")

    url, own = database_url()
    var_dir = tempfile.mkdtemp(prefix="parley-bench-logtab-")
    proc = None
    apps = []
    started = time.monotonic()
    try:
        setup_django(url, var_dir)
        from django.db import connection

        from messaging.services.accounts import sign_up
        from messaging.services.apps import create_app

        email = f"bench-{int(time.time())}@logtab.example"
        membership = sign_up(email=email, password=PASSWORD, team_name="Bench logtab")
        small = create_app(team=membership.team, name="Small log")
        large = create_app(team=membership.team, name="Large log")
        apps = [small, large]
        t0 = time.monotonic()
        small_info = load(small, small_entries, small_users)
        large_info = load(large, large_entries, large_users)
        load_seconds = time.monotonic() - t0
        print(f"loaded {small_entries:,} + {large_entries:,} log entries and "
              f"{small_users:,} + {large_users:,} users in {load_seconds:.1f}s")
        connection.close()

        proc, base = start_server(url, var_dir)
        session = login(base, email)
        floor = timed(session, base + "/login/", repeat, warmup)
        urls = {}
        for name, app, info in (("small", small, small_info), ("large", large, large_info)):
            log = f"{base}/apps/{app.id}/log/"
            urls[name] = {
                "first": (log, f'data-log-id="{info["top"]}"'),
                "deep": (f"{log}?before={info['deep_cursor']}", f'data-log-id="{info["deep_cursor"] - 1}"'),
                "search": (f"{log}?q={info['search_user']}", info["search_user"]),
            }
        results = {"small": {}, "large": {}}
        for key in ("first", "deep", "search"):
            # Small and large alternate request by request, so load from
            # anything else on the machine hits both alike.
            for name in ("small", "large"):
                url, expect = urls[name][key]
                timed(session, url, 0, warmup, expect=expect)
            samples = {"small": [], "large": []}
            for i in range(repeat):
                order = ("small", "large") if i % 2 == 0 else ("large", "small")
                for name in order:
                    samples[name].append(timed(session, urls[name][key][0], 1, 0))
            for name in samples:
                results[name][key] = statistics.median(samples[name])

        ratios = {k: results["large"][k] / results["small"][k] for k in ("first", "deep", "search")}
        print(f"floor GET /login/: {floor * 1000:.1f} ms (median)")
        print(f"{'request':<8} {'small (' + format(small_entries, ',') + ')':>16} "
              f"{'large (' + format(large_entries, ',') + ')':>20} {'large/small':>12}")
        for key in ("first", "deep", "search"):
            print(f"{key:<8} {results['small'][key] * 1000:>13.1f} ms {results['large'][key] * 1000:>17.1f} ms "
                  f"{ratios[key]:>12.2f}")
        print(f"deep page: cursor {large_info['deep_back']:,} rows back; "
              f"search: ?q={large_info['search_user']} (a userId)")
        ratio = max(ratios.values())
        summary = {
            "bench": "logtab",
            "ratio": round(ratio, 3),
            "target": f"<= {TARGET}",
            "ok": ratio <= TARGET,
            "quick": args.quick,
            "entries_small": small_entries,
            "entries_large": large_entries,
            "users_large": large_users,
            "deep_rows_back": large_info["deep_back"],
            "ms": {size: {k: round(v * 1000, 2) for k, v in results[size].items()} for size in results},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "floor_ms": round(floor * 1000, 2),
            "load_seconds": round(load_seconds, 1),
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        if proc is not None:
            stop_group(proc)
        if own:
            from django.db import connections

            connections.close_all()
            drop_own_database()
        elif apps:
            from django.db import connection

            with connection.cursor() as cursor:
                ids = [a.id for a in apps]
                cursor.execute("DELETE FROM messaging_logentry WHERE app_id = ANY(%s)", [ids])
                cursor.execute("DELETE FROM messaging_appuser WHERE app_id = ANY(%s)", [ids])
            for app in apps:
                app.team.delete()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
