"""Identifiers that look like Smooch's: 24 hex characters, ObjectId-shaped.

The first 8 characters are the creation time in seconds, so ids sort roughly
by age; the other 16 are random, so they cannot be guessed.
"""

import secrets
import time


def new_id() -> str:
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def new_token(nbytes: int = 18) -> str:
    """A url-safe random token (app tokens, webhook secrets, invite tokens)."""
    return secrets.token_urlsafe(nbytes)


def is_id(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdef" for c in value)
