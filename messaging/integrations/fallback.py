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
