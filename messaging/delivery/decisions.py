"""Targeting decisions, recorded on Message.decisions in order:
{"rule", "clientId", "platform", "at", ...}. The dashboard and the log show
them; tests read them."""

from django.utils import timezone

from messaging.wire import iso


def decision(rule: str, client=None, **extra) -> dict:
    data = {"rule": rule, "at": iso(timezone.now())}
    if client is not None:
        data["clientId"] = client.id
        data["platform"] = client.platform
    data.update({k: v for k, v in extra.items() if v is not None})
    return data


def record(message, *entries: dict) -> None:
    """Append to the message's decisions. The caller holds the message row
    (select_for_update) or created it in this transaction."""
    message.decisions = list(message.decisions or []) + list(entries)
    type(message).objects.filter(pk=message.pk).update(decisions=message.decisions)
