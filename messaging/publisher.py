"""Live broadcasts on the channel layer, handed off so the caller never waits.

The fan-out (messaging.events) publishes an event after its transaction
commits. A request thread must not wait for Redis, and a group must get its
events in the order they happened. So a broadcast is handed to an event loop
that publishes in order:
- in a web process, the server's own loop: `capture_loop(app)` wraps the
  ASGI application and notes the running loop on each call (public asyncio
  API); threads hand it their broadcasts with `loop.call_soon_threadsafe`;
- in a process without a server (the task worker, a command), one
  long-lived publishing thread with its own loop (a loop per call would cost
  a Redis connection per event: measured in bench/api_send.py, the worker
  spent a quarter of its CPU opening them);
- with the in-memory layer and no server loop (tests, short commands), at
  once with async_to_sync.

A broadcast is a convenience, never the record: the rows are. A socket that
missed one, or one that was dropped because the layer stalled (more than
MAX_BACKLOG waiting) or failed, catches up from the database when it
(re)connects: the SDK socket from `since`, a dashboard page by refetching
its message list (tests/live/test_catch_up.py). A short command may exit
before its broadcasts go out; its rows stay.
"""

import asyncio
import logging
import threading
import weakref
from collections import deque

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 10  # seconds a publish may take before it counts as lost
MAX_BACKLOG = 10_000  # broadcasts waiting on one loop before new ones are dropped

_server_loop: asyncio.AbstractEventLoop | None = None


def capture_loop(app):
    """Wrap an ASGI application so that broadcasts from this process's
    threads go out on the server's event loop."""

    async def application(scope, receive, send):
        global _server_loop
        _server_loop = asyncio.get_running_loop()
        return await app(scope, receive, send)

    return application


def send(messages: list[tuple[str, dict]]) -> None:
    """Publish (group, message) pairs in order, without waiting. Never
    raises: the change is committed already."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    try:
        loop = _server_loop
        if loop is not None and loop.is_running():
            _sender_for(loop).submit(loop, layer, messages)
        elif isinstance(layer, InMemoryChannelLayer):
            async_to_sync(_send_all)(layer, messages)
        else:
            loop = _publishing_loop()
            _sender_for(loop).submit(loop, layer, messages)
    except Exception:
        logger.exception("broadcast failed for groups %s", [group for group, _ in messages])


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    for group, message in messages:
        await layer.group_send(group, message)


class _OrderedSender:
    """Publishes on one loop, in the order submitted. At most MAX_BACKLOG
    broadcasts wait (a stalled layer must not grow memory without bound);
    past that they are dropped and logged, which loses nothing but
    liveness (see the module docstring). It keeps no reference to its loop
    (the loop is the key of `_senders`, a weak mapping)."""

    def __init__(self):
        self.queue = deque()
        self.drain_task = None

    def submit(self, loop, layer, messages) -> None:  # any thread
        loop.call_soon_threadsafe(self._push, layer, messages)

    def _push(self, layer, messages) -> None:  # on the loop
        if len(self.queue) >= MAX_BACKLOG:
            logger.error("broadcast backlog full (%s): dropping a broadcast; sockets catch up on reconnect",
                         len(self.queue))
            return
        self.queue.append((layer, messages))
        if self.drain_task is None:
            # Kept on the sender: the loop holds only a weak reference to tasks.
            self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                layer, messages = self.queue.popleft()
                try:
                    await asyncio.wait_for(_send_all(layer, messages), PUBLISH_TIMEOUT)
                except Exception:
                    logger.exception("broadcast failed for groups %s", [group for group, _ in messages])
        finally:
            self.drain_task = None


_senders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OrderedSender]" = weakref.WeakKeyDictionary()
_senders_lock = threading.Lock()


def _sender_for(loop) -> _OrderedSender:
    with _senders_lock:
        sender = _senders.get(loop)
        if sender is None:
            sender = _senders[loop] = _OrderedSender()
        return sender


_publishing_thread: threading.Thread | None = None
_publishing_loop_: asyncio.AbstractEventLoop | None = None
_publishing_lock = threading.Lock()


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """The process's publishing loop, started on first use (a daemon thread)."""
    global _publishing_thread, _publishing_loop_
    with _publishing_lock:
        if _publishing_thread is None or not _publishing_thread.is_alive():
            _publishing_loop_ = asyncio.new_event_loop()
            _publishing_thread = threading.Thread(target=_publishing_loop_.run_forever,
                                                  name="parley-publish", daemon=True)
            _publishing_thread.start()
        return _publishing_loop_
