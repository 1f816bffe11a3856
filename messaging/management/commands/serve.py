import os

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand

from messaging.web_server import GracefulServer
from messaging.worker import start_in_threads


class ParleyDaphne(CommandLineInterface):
    """daphne's command line with Parley's graceful stop (messaging.web_server)."""

    server_class = GracefulServer


class Command(BaseCommand):
    help = (
        "Serve the dashboard, the API and websockets with daphne. Without REDIS_URL "
        "the task worker runs inside this process (one process, embedded defaults)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--worker",
            choices=["auto", "yes", "no"],
            default="auto",
            help="run the task worker inside this process (auto: only without REDIS_URL)",
        )

    def handle(self, host, port, worker, **options):
        with_worker = worker == "yes" or (worker == "auto" and not settings.REDIS_URL)
        if with_worker:
            start_in_threads()
        self.stdout.write(
            f"Parley on http://{host}:{port}/ "
            + ("(task worker inside this process)" if with_worker else "(no worker: run `manage.py worker`)")
        )
        self.stdout.flush()
        # No --proxy-headers: daphne would believe X-Forwarded-For from any
        # peer. Forwarded headers are believed only from PARLEY_TRUSTED_PROXIES
        # (messaging/client_address.py).
        # Websocket pings every PARLEY_WS_PING_SECONDS (daphne's default is
        # 20 s): the widget sends its own heartbeat every 25 s, and with
        # thousands of idle sockets daphne's pings are most of their CPU
        # (bench/sockets.py). Below nginx's 120 s read timeout (deploy/).
        ParleyDaphne().run(
            ["--bind", host, "--port", str(port), "--ping-interval", str(settings.PARLEY_WS_PING_SECONDS),
             settings.ASGI_APPLICATION.replace(".application", ":application")]
        )
