"""What /readyz checks, and who may read the operator's endpoints (/readyz,
and /metrics once it exists).

Ready means both shared parts answer: the database (one `SELECT 1` through
Django's connection) and the channel layer (a message sent to this
process's own readiness channel and received back, so a Redis that accepts
connections but can't deliver counts as down). Each check has its own
deadline, and the answer names what failed.

The operator's endpoints answer to addresses in PARLEY_OPS_ALLOW (default:
loopback) or to `Authorization: Bearer <PARLEY_OPS_TOKEN>`; REMOTE_ADDR is
the client as messaging/client_address.py resolved it behind trusted
proxies.
"""

import asyncio
import ipaddress
import secrets
import weakref

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from messaging.client_address import is_trusted

CHECK_SECONDS = 2.0

# The readiness channel of each event loop (daphne has one; a test client
# makes one per request): made once, so that a probe every few seconds
# doesn't leave a subscription behind each time. Loop -> [lock, channel].
_channels: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    state = _channels.setdefault(asyncio.get_running_loop(), [asyncio.Lock(), None])
    async with state[0]:
        if state[1] is None:
            state[1] = await layer.new_channel("readyz.")
        try:
            await layer.send(state[1], {"type": "readyz"})
            await layer.receive(state[1])
        except BaseException:
            state[1] = None  # subscribe afresh once the layer is back
            raise


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CHECK_SECONDS:g} s"
    return f"{type(error).__name__}: {error}"[:300]


async def failures() -> dict[str, str]:
    """{part: what went wrong} for each part that did not answer; empty
    when ready."""
    checks = {"database": sync_to_async(_database, thread_sensitive=False),
              "channelLayer": _channel_layer}
    found = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), CHECK_SECONDS)
        except Exception as error:
            found[name] = _describe(error)
    return found


def operator_may_read(request) -> bool:
    token = settings.PARLEY_OPS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and secrets.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return is_trusted(address, settings.PARLEY_OPS_ALLOW)
