"""Query-string parameters of the REST API's list calls, checked: a bad
value is a 400 `bad_request` naming the parameter, never a 5xx."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from messaging.api.auth import bad_request
from messaging.schemas import UNIX_TIME_MAX
from messaging.validators import from_unix


def number(request, name: str, default: int, lowest: int, highest: int) -> int:
    """The integer parameter `name` (ASCII digits, from `lowest` to
    `highest`), or `default` when absent."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not lowest <= int(raw) <= highest:
        raise bad_request(f"{name} must be an integer from {lowest} to {highest}.")
    return int(raw)


def timestamp(request, name: str) -> datetime | None:
    """The Unix time in seconds `name` (e.g. 1471995721.586), exact to the
    millisecond, or None when absent."""
    raw = request.GET.get(name)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= UNIX_TIME_MAX:
        raise bad_request(f"{name} must be a Unix timestamp in seconds (e.g. 1471995721.586).")
    return from_unix(value)
