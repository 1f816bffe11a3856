"""Text fallbacks for structured messages on channels without native
support (reference/channel-capabilities.md): carousel and list items become
numbered blocks, link buttons "label url", postback buttons are dropped, a
locationRequest becomes "<App name> has requested a location"."""


def _action_lines(actions, app_name: str) -> list[str]:
    lines = []
    for action in actions or []:
        kind = action.get("type")
        if kind in ("link", "webview", "buy"):
            uri = action.get("uri", "")
            lines.append(f"{action.get('text', '')} {uri}".strip())
        elif kind == "locationRequest":
            lines.append(f"{app_name} has requested a location")
        # postback, reply, share...: nothing to show in plain text.
    return lines


def render_text(message, app_name: str = "") -> str:
    """The plain-text form of `message` (any type)."""
    app_name = app_name or message.app.name
    if message.type in ("carousel", "list"):
        blocks = []
        for number, item in enumerate(message.items or [], start=1):
            lines = [f"{number}. {item.get('title', '')}"]
            if item.get("description"):
                lines.append(item["description"])
            lines += _action_lines(item.get("actions"), app_name)
            blocks.append("\n".join(lines))
        head = [message.text] if message.text else []
        return "\n\n".join(head + blocks)
    if message.type == "location" and message.coordinates:
        c = message.coordinates
        text = message.text or "Location"
        return f"{text}: {c.get('lat')}, {c.get('long')}"
    lines = [message.text] if message.text else []
    if message.type == "image" and message.media_url:
        lines.append(message.media_url)
    lines += _action_lines(message.actions, app_name)
    return "\n".join(line for line in lines if line)


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
        cut = rest.rfind("\n", end // 2, end)
        if cut <= 0:
            cut = rest.rfind(" ", end // 2, end)
        if cut > 0:
            pieces.append(rest[:cut])
            rest = rest[cut + 1:]
        else:
            pieces.append(rest[:end])
            rest = rest[end:]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()] or pieces[:1]
