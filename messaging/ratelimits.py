"""Rate limits: what is counted, per what, and how a refusal is worded.

HTTP limits are django-ratelimit's fixed windows in Django's cache (Redis
when REDIS_URL is set, so every web process counts together; local memory
on the embedded defaults' one process). Each rate is a setting in
django-ratelimit's syntax: `400/2s` is 400 requests per 2-second window,
i.e. 200/s with bursts of 400 (README, "Rate limits"). Counting is one
`get_usage(increment=True)` per request: the caller picks the one limit a
request meets, so an API call costs one counter.

The SDK socket's frame budget (`FrameBudget`) is counted in the consumer's
memory instead: a socket lives in one process, and a cache round trip per
frame would buy nothing.
"""

import ipaddress
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage

from messaging import outages

logger = logging.getLogger(__name__)

RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
# An IPv6 client can change addresses within its /64 at will: count the /64.
IPV6_PREFIX = 64


def split_rate(rate: str) -> tuple[int, int]:
    """`400/2s` -> (400, 2): the count and the window in seconds."""
    count, multiplier, unit = RATE_RE.match(rate).groups()
    return int(count), int(multiplier or 1) * PERIODS[unit]


def _per(seconds: int) -> str:
    for unit_seconds in sorted(UNITS, reverse=True):
        if seconds % unit_seconds == 0:
            n = seconds // unit_seconds
            return f"{n} {UNITS[unit_seconds]}s" if n != 1 else UNITS[unit_seconds]
    return f"{seconds} seconds"  # pragma: no cover (every unit divides by 1 s)


@dataclass(frozen=True)
class Limit:
    setting: str  # the setting holding the rate, named in refusals
    group: str  # django-ratelimit's counter group
    what: str  # "per API key": what one counter is for

    @property
    def rate(self) -> str:
        return getattr(settings, self.setting)

    def describe(self) -> str:
        count, seconds = split_rate(self.rate)
        return f"{count} {self.unit(count)} per {_per(seconds)} {self.what} ({self.setting})"

    def unit(self, count: int) -> str:
        noun = "frame" if self.group == "sdk-socket" else "request"
        return noun if count == 1 else noun + "s"


API_KEY = Limit("PARLEY_RATE_API_KEY", "api-key", "per API key")
APP_TOKEN = Limit("PARLEY_RATE_APP_TOKEN", "app-token", "per app token and client address")
APP_USER = Limit("PARLEY_RATE_APP_USER", "app-user", "per app user")
INIT = Limit("PARLEY_RATE_INIT", "init", "on /v1/init per client address")
SIGN_IN = Limit("PARLEY_RATE_SIGN_IN", "sign-in", "for sign-ins per client address")
PASSWORD_RESET = Limit("PARLEY_RATE_PASSWORD_RESET", "password-reset", "for password resets per client address")
SIGN_UP = Limit("PARLEY_RATE_SIGN_UP", "sign-up", "for sign-ups per client address")
SOCKET = Limit("PARLEY_RATE_SOCKET", "sdk-socket", "of message and typing frames per socket")


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after: int  # whole seconds, at least 1

    @property
    def description(self) -> str:
        return (
            f"Too many requests: the limit is {self.limit.describe()}. "
            f"Retry after {self.retry_after} second{'s' if self.retry_after != 1 else ''}."
        )


def client_address(request) -> str:
    """REMOTE_ADDR (as messaging.client_address resolved it), an IPv6
    address reduced to its /64."""
    address = request.META.get("REMOTE_ADDR") or ""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    except ValueError:
        return address


def hit(limit: Limit, request, value: str, *, fail_open: bool = False) -> Refusal | None:
    """Count one request against `limit` for `value` (an API key id, an
    address...); a Refusal once the window's count is past the limit.
    `fail_open`: while the counters' Redis is unreachable, let the request
    through uncounted (logged) instead of raising (outages.REDIS_DOWN)."""
    try:
        usage = get_usage(request, group=limit.group, key=lambda group, request: value, rate=limit.rate,
                          increment=True)
    except outages.REDIS_DOWN:
        if not fail_open:
            raise
        logger.warning("rate limit %s not counted: Redis unavailable", limit.group)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return Refusal(limit, max(1, usage["time_left"]))


class FrameBudget:
    """One SDK socket's budget of rate-limited frames: a fixed window like
    the HTTP limits, kept in the consumer (see the module docstring).
    `take()` says whether a frame may go ahead; `exhausted` turns true once
    PARLEY_RATE_SOCKET_REFUSALS frames were refused in one window."""

    def __init__(self, limit: Limit = SOCKET):
        self.limit = limit
        self.count, self.seconds = split_rate(limit.rate)
        self.max_refusals = settings.PARLEY_RATE_SOCKET_REFUSALS
        self.window_ends = 0.0
        self.used = 0
        self.refused = 0

    def take(self) -> Refusal | None:
        now = time.monotonic()
        if now >= self.window_ends:
            self.window_ends = now + self.seconds
            self.used = 0
            self.refused = 0
        if self.used < self.count:
            self.used += 1
            return None
        self.refused += 1
        return Refusal(self.limit, max(1, int(self.window_ends - now + 0.999)))

    @property
    def exhausted(self) -> bool:
        return self.refused > self.max_refusals
