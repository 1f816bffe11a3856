"""Text fallbacks for structured messages on channels without native
support (reference/channel-capabilities.md): carousel and list items become
numbered blocks, link buttons "label url", postback buttons are dropped, a
locationRequest becomes "<App name> has requested a location".

A channel with `numbered_replies` (SMS) shows `reply` actions as numbered
options under a line asking for the number; `numbered_reply` finds the
action a user's bare-number answer picks, so the engine can treat it as the
button pressed. Elsewhere reply actions are left out of the text, as before.

`split_text` cuts a text too long for one platform message into parts.
"""

import re

REPLY_PROMPT = "Reply with the number of your choice."

# A bare number, as people type one: "2", " 2 ", "2.", "2)".
_NUMBER_ANSWER = re.compile(r"\s*(\d{1,3})\s*[.)]?\s*")


def action_lines(actions, app_name: str) -> list[str]:
    """The plain-text lines for `actions` ("label url", a location request's
    sentence); a channel with some actions native renders the rest with it."""
    lines = []
    for action in actions or []:
        kind = action.get("type")
        if kind in ("link", "webview", "buy"):
            uri = action.get("uri", "")
            lines.append(f"{action.get('text', '')} {uri}".strip())
        elif kind == "locationRequest":
            lines.append(f"{app_name} has requested a location")
        # postback, reply, share...: nothing to show in plain text (replies
        # are numbered by `_reply_lines` where the channel takes numbers).
    return lines


def _replies(actions) -> list[dict]:
    return [action for action in actions or [] if action.get("type") == "reply"]


def _reply_lines(actions) -> list[str]:
    replies = _replies(actions)
    if not replies:
        return []
    return [f"{number}. {action.get('text', '')}" for number, action in enumerate(replies, start=1)] + [
        REPLY_PROMPT]


def _text_lines(message, app_name: str, numbered_replies: bool, media_url: str = "") -> list[str]:
    lines = [message.text] if message.text else []
    if media_url:
        lines.append(media_url)
    lines += action_lines(message.actions, app_name)
    if numbered_replies:
        lines += _reply_lines(message.actions)
    lines = [line for line in lines if line]
    if not lines:
        # A text message may be only postback or reply buttons (no text):
        # dropping them all left an empty text, which platforms refuse
        # (Twilio's 21602) and which shows the user nothing. Their labels
        # are then the text (found by tests/fuzz/test_properties.py).
        lines = [action["text"] for action in message.actions or [] if action.get("text")]
    return lines


def render_caption(message, app_name: str = "", *, numbered_replies: bool = False) -> str:
    """The message's text and its actions as plain text, without its media:
    the body that goes with an image a channel sends natively (MMS)."""
    return "\n".join(_text_lines(message, app_name or message.app.name, numbered_replies))


def render_text(message, app_name: str = "", *, numbered_replies: bool = False) -> str:
    """The plain-text form of `message` (any type). `numbered_replies`: the
    channel takes a number as the answer to `reply` actions."""
    app_name = app_name or message.app.name
    if message.type in ("carousel", "list"):
        blocks = []
        for number, item in enumerate(message.items or [], start=1):
            lines = [f"{number}. {item.get('title', '')}"]
            if item.get("description"):
                lines.append(item["description"])
            lines += action_lines(item.get("actions"), app_name)
            blocks.append("\n".join(lines))
        head = [message.text] if message.text else []
        return "\n\n".join(head + blocks)
    if message.type == "location" and message.coordinates:
        c = message.coordinates
        text = message.text or "Location"
        return f"{text}: {c.get('lat')}, {c.get('long')}"
    media_url = message.media_url if message.type == "image" else ""
    return "\n".join(_text_lines(message, app_name, numbered_replies, media_url))


def numbered_reply(message, text: str) -> dict | None:
    """The `reply` action of `message` that a bare-number answer `text`
    picks ("2" -> the second reply action, numbered as `render_text` shows
    them), or None when `text` is not such a number or no option has it."""
    match = _NUMBER_ANSWER.fullmatch(text or "")
    replies = _replies(message.actions)
    if match is None or not replies:
        return None
    number = int(match.group(1))
    return replies[number - 1] if 1 <= number <= len(replies) else None


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units: how Telegram counts a
    message's characters (a character outside the BMP, most emoji, counts
    twice)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int) -> list[str]:
    """`text` as pieces of at most `limit` UTF-16 code units (so at most
    `limit` characters by any count), for a platform that refuses longer
    messages. Each cut is at the last line break of the piece, else its
    last space, when there is one in its second half (the separator is
    dropped), else at the limit itself, never inside a character.
    Whitespace-only pieces are left out: platforms refuse empty text."""
    pieces = []
    rest = text
    while utf16_length(rest) > limit:
        end = _fitting(rest, limit)
        # A separator right after the piece counts: it is dropped.
        cut = rest.rfind("\n", end // 2, end + 1)
        if cut <= 0:
            cut = rest.rfind(" ", end // 2, end + 1)
        if cut > 0:
            pieces.append(rest[:cut])
            rest = rest[cut + 1:]
        else:
            pieces.append(rest[:end])
            rest = rest[end:]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()] or pieces[:1]
