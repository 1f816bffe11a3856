"""An app's failover policy: `app.settings["failover"]`.

None (the default) is the seed's rule: after PARLEY_FAILOVER_SECONDS, an
unread message whose preferred channel cannot push goes, with a
notification, to the most recently used push-capable client.

An app may replace it with `{"delaySeconds": int, "chain": [type, ...]}`:
while the message is unread, every `delaySeconds` the next channel type of
the chain on which the user has a client (other than the ones already
notified) gets it with a notification, in order, until the chain ends.
"""

from django.conf import settings
from django.db import transaction

from messaging.integrations.registry import REGISTRY
from messaging.models import App
from messaging.services.errors import ServiceError

MAX_DELAY_SECONDS = 7 * 24 * 3600
MAX_CHAIN = 10


def get_policy(app: App) -> dict | None:
    """The app's own policy, or None for the default rule."""
    policy = (app.settings or {}).get("failover")
    return policy if isinstance(policy, dict) else None


def delay_seconds(app: App) -> int:
    policy = get_policy(app)
    if policy and "delaySeconds" in policy:
        return int(policy["delaySeconds"])
    return settings.PARLEY_FAILOVER_SECONDS


def validate_policy(data) -> dict | None:
    """A clean policy from user input, or ServiceError (400) saying what is wrong."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ServiceError("The failover policy must be an object or null.")
    unknown = set(data) - {"delaySeconds", "chain"}
    if unknown:
        raise ServiceError(f"Unknown failover policy keys: {', '.join(sorted(unknown))}.")
    delay = data.get("delaySeconds", settings.PARLEY_FAILOVER_SECONDS)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= MAX_DELAY_SECONDS:
        raise ServiceError(f"delaySeconds must be a whole number from 1 to {MAX_DELAY_SECONDS}.")
    chain = data.get("chain")
    if not isinstance(chain, list) or not chain:
        raise ServiceError("chain must be a non-empty list of channel types.")
    if len(chain) > MAX_CHAIN:
        raise ServiceError(f"chain may hold at most {MAX_CHAIN} channel types.")
    for item in chain:
        if not isinstance(item, str) or item not in REGISTRY:
            raise ServiceError(
                f"Unknown channel type in chain: {item!r} (known: {', '.join(sorted(REGISTRY))})."
            )
    if len(set(chain)) != len(chain):
        raise ServiceError("chain lists a channel type twice.")
    return {"delaySeconds": delay, "chain": list(chain)}


def set_policy(app: App, data) -> dict | None:
    """Validate and store the policy (None restores the default rule)."""
    policy = validate_policy(data)
    with transaction.atomic():
        locked = App.objects.select_for_update().get(pk=app.pk)
        current = dict(locked.settings or {})
        if policy is None:
            current.pop("failover", None)
        else:
            current["failover"] = policy
        locked.settings = current
        locked.save(update_fields=["settings"])
    app.settings = current
    return policy
