"""Webhook events waiting to be sent: one outbox row per matching webhook,
created in the transaction of the events they report (the fan-out,
messaging.events, hands them over), sent after commit by
messaging.webhooks.sender.

Trigger matching follows Smooch: a webhook's triggers list exact triggers,
"message" (both message:appUser and message:appMaker) or "*" (all of
Smooch's: the OPT_IN triggers, Parley's own, match only a webhook that
names them).

Whether an app has webhooks is read in the event's own transaction, never
cached: a webhook created before an event happens gets that event, in
every process. A change that already knows the answer from one of its own
statements (a message send reads it with the conversation counters) saves
the lookup.
"""

import hashlib

from messaging import background
from messaging.models import Webhook, WebhookEvent
from messaging.wire import app_user_json

# Smooch's one alias: "message" is both message:appUser and message:appMaker.
ALIASES = {"message": ("message:appUser", "message:appMaker")}

# Triggers sent only to webhooks whose triggers name them, never through
# "*" (or an alias): Parley's own (the inbox's, messaging.services.inbox),
# which Smooch receivers subscribed to "*" do not expect. messaging.events
# checks that each is a trigger some event kind fires.
OPT_IN = frozenset({"conversation:status", "conversation:assigned"})


def matches(triggers, trigger: str) -> bool:
    """Whether a webhook subscribed to `triggers` gets `trigger`; an OPT_IN
    trigger only by its own name."""
    for wanted in triggers or []:
        if wanted == trigger:
            return True
        if trigger in OPT_IN:
            continue
        if wanted == "*" or trigger in ALIASES.get(wanted, ()):
            return True
    return False


def build_payload(app, trigger: str, event: dict, app_user=None, extra: dict | None = None,
                  app_users: dict | None = None) -> dict:
    """The Smooch webhook body. `app_users` keeps each user's JSON for the
    payloads built together (a send's message and delivery events read the
    user's clients once)."""
    payload = {"trigger": trigger, "app": {"_id": app.id}, "version": "v1.1"}
    if app_user is not None:
        cache = {} if app_users is None else app_users
        if app_user.id not in cache:
            cache[app_user.id] = app_user_json(app_user)
        payload["appUser"] = cache[app_user.id]
    detail = event.get("detail") or {}
    if detail.get("message") and not (extra or {}).get("messages"):
        payload["messages"] = [detail["message"]]
    payload.update(extra or {})
    if "messages" in payload:
        payload["messages"] = [webhook_message(m) for m in payload["messages"]]
    if "postbacks" in payload:
        payload["postbacks"] = [{**p, "message": webhook_message(p["message"])} if "message" in p else p
                                for p in payload["postbacks"]]
    return payload


def webhook_message(message: dict) -> dict:
    """A message as the payloads carry it: its API JSON (messaging.wire)
    with `metadata` and `actions` always there, empty when it has none (the
    guide's message:appUser example shows both), and an `_id` on its
    `coordinates` (the reference's location example has one), derived from
    the message's `_id` so every payload names it alike. A new dict: the
    event's detail is left as it is."""
    data = {"metadata": {}, "actions": [], **message}
    if isinstance(data.get("coordinates"), dict) and "_id" not in data["coordinates"]:
        digest = hashlib.sha256(f"{message['_id']}:coordinates".encode()).hexdigest()
        data["coordinates"] = {**data["coordinates"], "_id": digest[:24]}
    return data


def queue(items: list[tuple], *, has_webhooks: dict | None = None) -> list[WebhookEvent]:
    """Store an outbox row for every webhook subscribed to each item's
    trigger; `items` are (app, trigger, event, app_user, extra). One query
    for the webhooks of each app (none for an app `has_webhooks` says has
    none) and one INSERT for all rows; the sender starts once the
    transaction commits."""
    by_app: dict[str, list] = {}
    for item in items:
        by_app.setdefault(item[0].id, []).append(item)
    rows, app_users = [], {}
    for app_id, app_items in by_app.items():
        if (has_webhooks or {}).get(app_id) is False:
            continue
        webhooks = list(Webhook.objects.filter(app_id=app_id))
        for app, trigger, event, app_user, extra in app_items:
            subscribed = [w for w in webhooks if matches(w.triggers, trigger)]
            if subscribed:
                payload = build_payload(app, trigger, event, app_user, extra, app_users)
                rows += [WebhookEvent(app=app, webhook=w, trigger=trigger, payload=payload) for w in subscribed]
    if not rows:
        return []
    stored = WebhookEvent.objects.bulk_create(rows)
    background.enqueue_on_commit("send_webhooks")
    return stored
