"""Throttling dashboard sign-ins, so a password cannot be guessed by brute
force: after LOGIN_FAILURES failed sign-ins for one account from one
address, or LOGIN_FAILURES_PER_ADDRESS from one address for any accounts,
further attempts are refused (even with the right password) until
LOCK_SECONDS after the first of them. A successful sign-in clears the
account's count. Counts live in Django's cache: in Redis when REDIS_URL
is set, so they hold across every web process (local memory on the
embedded defaults' one process). The address is the client's as
messaging.client_address resolved it: X-Forwarded-For counts only from a
trusted proxy (PARLEY_TRUSTED_PROXIES), so a new header per try neither
escapes the count nor locks out the address it names. Sign-in POSTs are
also rate limited per address (PARLEY_RATE_SIGN_IN, dashboard views).
"""

import hashlib

from django.core.cache import cache

LOGIN_FAILURES = 5
LOGIN_FAILURES_PER_ADDRESS = 50
LOCK_SECONDS = 15 * 60


def _counters(email: str, address: str) -> list[tuple[str, int]]:
    account = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]
    return [
        (f"parley:signin:{account}:{address}", LOGIN_FAILURES),
        (f"parley:signin-address:{address}", LOGIN_FAILURES_PER_ADDRESS),
    ]


def is_locked(email: str, address: str) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _counters(email, address))


def record_failure(email: str, address: str) -> None:
    for key, _ in _counters(email, address):
        # The window starts at the first failure: incr keeps the expiry.
        if not cache.add(key, 1, LOCK_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, LOCK_SECONDS)


def record_success(email: str, address: str) -> None:
    account_key, _ = _counters(email, address)[0]
    cache.delete(account_key)
