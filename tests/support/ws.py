"""Helpers for delivery and SDK tests: app users with clients, business
messages through Parley's own path, and a websocket SDK client."""

import asyncio
import json
from datetime import timedelta

from django.utils import timezone

from messaging.models import AppUser, Client


def make_user(app, user_id="u1", **fields):
    return AppUser.objects.create(app=app, user_id=user_id, **fields)


def make_client(app_user, platform, minutes_ago=0, external_id=None, **fields):
    """A client last seen `minutes_ago` minutes before now."""
    return Client.objects.create(
        app_user=app_user,
        platform=platform,
        external_id=external_id or f"{platform}-{app_user.id}",
        last_seen=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def business_message(app_user, text="Hello", **fields):
    """Store an appMaker message the way the API does (post_message)."""
    from messaging.services.messages import post_message

    return post_message(app_user, role="appMaker", fields={"type": "text", "text": text, **fields})


class SdkSocket:
    """A real websocket client (the `websockets` package) speaking the SDK protocol."""

    def __init__(self, connection):
        self.connection = connection

    @classmethod
    async def open(cls, base_url: str):
        import websockets

        url = base_url.replace("http://", "ws://") + "/sdk/ws/"
        return cls(await websockets.connect(url, open_timeout=10))

    async def send(self, frame: dict):
        await self.connection.send(json.dumps(frame))

    async def receive(self, timeout: float = 10.0) -> dict:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def receive_until(self, predicate, timeout: float = 10.0) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive(max(0.01, deadline - loop.time()))
            if predicate(frame):
                return frame

    async def close(self):
        await self.connection.close()


def run_tasks(max_tasks: int = 500) -> int:
    """Run every task that is ready now with django-tasks-db's own worker
    loop, in this process, then return how many ran (tasks scheduled for
    later stay queued)."""
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=max_tasks, worker_id="test-inline", excluded_queue_names=[],
    )
    worker.run()
    return worker._run_tasks


def app_jwt(app) -> str:
    import jwt

    return jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256",
                      headers={"kid": app.test_key.key_id})


def user_jwt(app, user_id: str) -> str:
    """An appUser-scope JWT for `user_id`: what a userId needs on an app
    whose requireUserJwt is on (the default for new apps)."""
    import jwt

    return jwt.encode({"scope": "appUser", "userId": user_id}, app.test_secret, algorithm="HS256",
                      headers={"kid": app.test_key.key_id})


def decisions(message, rule=None) -> list[dict]:
    message.refresh_from_db()
    return [d for d in message.decisions if rule is None or d["rule"] == rule]
