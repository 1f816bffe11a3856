"""The one decoder for JSON a client sends: REST API bodies
(messaging/api/auth.py) and SDK socket frames (messaging/consumers.py).

`decode(raw, max_bytes=...)` returns the parsed value or raises `BodyError`
(status 413 for a body over the limit, 400 for the rest), with a
description that names where the fault is (`message.metadata.x`). What it
refuses is what the database or a later render would choke on, so it is
refused once, here, before any view or frame handler sees the data:

- bodies over `max_bytes`; text that is not UTF-8;
- NaN / Infinity, numbers that are not finite (`1e400` parses to inf) and
  integers outside a 64-bit signed range (no column takes them);
- NUL bytes (PostgreSQL text and jsonb refuse them) and lone surrogates
  (`"\\udfff"`: jsonb refuses them, and a page cannot encode them) in any
  string or key;
- nesting deeper than `PARLEY_MAX_JSON_DEPTH` levels.

Why not a library: the standard `json` module parses (C speed); what it
lacks is these checks, which need one walk over the result. The walk is
iterative (never recursion over client data) and cheap: scalars are checked
where they sit, only containers are stacked, and a path is built only for
the description of a fault. Python's parser itself recurses, so very deep
input raises RecursionError inside `json.loads`: that is caught and told as
too deep.
"""

import json
import math
import re
from functools import partial

from django.conf import settings

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Lone surrogates and NUL: what no UTF-8 encoder (and no PostgreSQL column)
# takes. Paired surrogates never reach Python's str from json (it combines
# "\ud83d\ude00" into one code point), so any surrogate left is lone.
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class BodyError(ValueError):
    """A body (or frame) refused before anything is done with it."""

    def __init__(self, description: str, status: int = 400):
        super().__init__(description)
        self.description = description
        self.status = status




def _reject_constant(subject, name):
    raise BodyError(f"{subject} is not valid JSON: {name} is not a JSON number.")


def path_name(path) -> str:
    """`message.items[0].title` from ("message", "items", 0, "title")."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def bad_string(value: str) -> str | None:
    """What is wrong with a string, or None: a NUL byte or a lone surrogate."""
    found = _BAD_CHARS.search(value)
    if found is None:
        return None
    return "a NUL byte" if found.group() == "\x00" else "an unpaired surrogate (not valid Unicode)"


def _where(path, key, subject) -> str:
    return path_name((*path, key) if key is not None else path) or subject


def _check_scalar(value, path, key, subject) -> None:
    """`value` sits at `path` under `key` (None: it is the whole body); its
    name is built only for a fault."""
    kind = type(value)
    if kind is str:
        fault = bad_string(value)
        if fault:
            raise BodyError(f"{_where(path, key, subject)} contains {fault}.")
    elif kind is float and not math.isfinite(value):
        raise BodyError(f"{_where(path, key, subject)} is a number out of range.")
    elif kind is int and not INT_MIN <= value <= INT_MAX:
        raise BodyError(f"{_where(path, key, subject)} is an integer out of range "
                        "(64-bit signed).")


def check(data, max_depth: int | None = None, subject: str = "The body") -> None:
    """Raise BodyError unless every string, key and number of `data` is
    storable and it nests at most `max_depth` levels (one walk). Faults at
    the top are told of `subject` ("The body", "The frame")."""
    limit = settings.PARLEY_MAX_JSON_DEPTH if max_depth is None else max_depth
    if not isinstance(data, (dict, list)):
        _check_scalar(data, (), None, subject)
        return
    stack = [(data, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limit:
            raise BodyError(f"{path_name(path) or subject} is nested more than {limit} levels deep.")
        if type(node) is dict:
            pairs = node.items()
        else:
            pairs = enumerate(node)
        for key, value in pairs:
            if type(key) is str:
                fault = bad_string(key)
                if fault:
                    raise BodyError(f"A key of {path_name(path) or subject.lower()} contains {fault}.")
            if type(value) in (dict, list):
                stack.append((value, (*path, key), depth + 1))
            else:
                _check_scalar(value, path, key, subject)


def decode(raw: bytes | str, *, max_bytes: int | None = None, max_depth: int | None = None,
           subject: str = "The body"):
    """The JSON value of `raw`, checked (see the module docstring); faults
    are told of `subject` ("The body" of a request, "The frame" of a socket)."""
    limit = settings.PARLEY_MAX_JSON_BODY_BYTES if max_bytes is None else max_bytes
    if len(raw) > limit:
        raise BodyError(f"{subject} is larger than {limit} bytes.", status=413)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError(f"{subject} is not valid UTF-8.")
    try:
        data = json.loads(raw, parse_constant=partial(_reject_constant, subject))
    except RecursionError:
        depth = settings.PARLEY_MAX_JSON_DEPTH if max_depth is None else max_depth
        raise BodyError(f"{subject} is nested more than {depth} levels deep.")
    except BodyError:
        raise
    except ValueError:  # JSONDecodeError, and int strings over Python's digit limit
        raise BodyError(f"{subject} is not valid JSON.")
    check(data, max_depth, subject)
    return data


def serialised_size(value) -> int:
    """Bytes of `value` as compact JSON (UTF-8): how the size limits of
    metadata, properties and socket frames are measured."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
