"""Per-process caches that every process drops at once.

Some lookups are made on every request and change rarely: an API key with
its app (the app's settings and allowed origins travel with it). Each web
and worker process keeps them in memory. When one changes, `changed()`
drops this process's entries and sets a new random generation in Django's
cache (Redis in a deployment, shared by every process; local memory on the
embedded defaults, where there is one process). Every process reads it
at most every CHECK_SECONDS and drops its entries when it moved, so
a change made in any process is seen in all of them within CHECK_SECONDS:
a revoked key is refused everywhere within a second.

When the shared cache can't be read, entries are dropped (lookups go to
the database) until it answers again: nothing stale is served for longer
than CHECK_SECONDS. MAX_AGE bounds an entry's life regardless.

Written here because Django's cache framework has no in-process layer kept
coherent with a shared one; the part that must be shared (the generation)
is Django's cache.
"""

import logging
import threading
import time

from django.core.cache import cache

from messaging.ids import new_id

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
MAX_AGE = 300.0


class ProcessCache:
    def __init__(self, name: str, max_size: int = 10_000):
        self.name = name
        self.max_size = max_size
        self._entries: dict = {}  # key -> (loaded at, value)
        self._generation = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def _shared_key(self) -> str:
        return f"parley:process-cache:{self.name}"

    def get(self, key):
        """The entry for `key`, or None (not cached, or no longer valid)."""
        now = time.monotonic()
        if now - self._checked_at >= CHECK_SECONDS:
            self._check(now)
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > MAX_AGE:
            return None
        return entry[1]

    def put(self, key, value) -> None:
        if len(self._entries) >= self.max_size:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def drop(self, keep=None) -> None:
        """Drop this process's entries (those `keep(key, value)` is false
        for, when given)."""
        if keep is None:
            self._entries.clear()
            return
        for key, (_, value) in list(self._entries.items()):
            if not keep(key, value):
                self._entries.pop(key, None)

    def changed(self, keep=None) -> None:
        """Something cached changed: drop it here, and tell every process."""
        self.drop(keep)
        # A new random generation, not a counter: a counter starts again
        # at 0 when the shared cache is flushed or Redis restarts, and could
        # come back to the very number a process remembers, hiding a change.
        # This process does not adopt it: it drops the rest too at its next
        # check (a change another process made just before is not hidden).
        try:
            cache.set(self._shared_key, new_id(), timeout=None)
        except Exception:
            log.warning("could not tell other processes that %s changed", self.name, exc_info=True)

    def _check(self, now: float) -> None:
        with self._lock:
            if now - self._checked_at < CHECK_SECONDS:
                return
            self._checked_at = now
            try:
                generation = cache.get(self._shared_key)
                if generation is None:
                    # Never set, or the cache was flushed: one process's
                    # new value wins (add), and every process drops its
                    # entries, since what changed meanwhile is unknown.
                    cache.add(self._shared_key, new_id(), timeout=None)
                    generation = cache.get(self._shared_key)
            except Exception:
                log.warning("could not read %s's generation; dropping its entries", self.name, exc_info=True)
                generation = None
            if generation is None or generation != self._generation:
                self._entries.clear()
            self._generation = generation
