"""Turning events into webhook calls (owned by the webhooks work)."""


def on_event(app, trigger: str, event: dict) -> None:
    """Queue `event` for every webhook of `app` subscribed to `trigger`."""
    # Replaced by the delivery-engine work with an outbox + task.
    return None
