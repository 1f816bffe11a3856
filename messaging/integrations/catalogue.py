"""The channel x capability table of the README, generated from what each
built-in channel declares (capabilities and limits), so the documentation
cannot drift from the code: tests/foundation/test_capability_table.py fails
when the README's copy differs, and `manage.py channeltable` prints it."""

from messaging.integrations.registry import REGISTRY

TYPES = ("text", "image", "carousel", "list", "location")
START = "<!-- channel-table:start (generated: manage.py channeltable) -->"
END = "<!-- channel-table:end -->"


def built_in() -> list:
    """The production channels (the test-only ones live outside messaging)."""
    return [cls for cls in REGISTRY.values() if cls.__module__.startswith("messaging.")]


def _how(cls, kind: str) -> str:
    if kind in cls.capabilities.native:
        return "yes"
    if kind in cls.capabilities.text_fallback:
        return "text"
    return "no"


def _limit(value: int) -> str:
    return f"{value:,}" if value else "-"


def table() -> str:
    head = ["Channel", "type", *TYPES, "typing", "read receipts", "push", "silent copy",
            "text limit", "buttons", "items", "API"]
    rows = []
    for cls in sorted(built_in(), key=lambda c: c.type):
        caps, limits = cls.capabilities, cls.limits
        rows.append([
            cls.label or cls.type, f"`{cls.type}`", *[_how(cls, kind) for kind in TYPES],
            *["yes" if flag else "no" for flag in (caps.typing, caps.read_receipts, caps.push, caps.silent)],
            _limit(limits.text), _limit(limits.actions), _limit(limits.items),
            "connected" if cls.fields else ("built in" if cls.sends_in_process else
                                            "not done" if getattr(cls, "refused", False) else "not yet"),
        ])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def readme_section(text: str) -> str | None:
    """The table between the README's markers, or None without them."""
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip()
