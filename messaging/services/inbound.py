"""Inbound platform webhooks: accepted fast, worked once, never lost.

`accept(integration, request)` runs in the web request: the channel
verifies the platform's signature or secret and splits the body into
events, which are stored (one PlatformEvent row each; a platform event
seen before is not stored again) before the platform gets its answer.
`run_due()` runs in the worker: each pending row is claimed with a lease,
parsed by its channel (which may call the platform: a file download, a
callback answer) and applied here: the user and client found or created,
the client's lastSeen moved (so the next business message goes there
first), messages stored, postbacks, delivery states, reads, opt-outs and
link confirmations. A transient platform error retries the row with
backoff; a row that keeps failing is kept as failed, with its error.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging import background, events
from messaging.delivery import claims, client_appeared, conversation_read
from messaging.delivery.reads import platform_receipt, platform_watermark
from messaging.integrations import fallback
from messaging.integrations.base import PlatformError, linked_app_user
from messaging.integrations.registry import integration_class
from messaging.models import AppUser, Client, Integration, Message, PlatformEvent, PlatformEventState
from messaging.services import media, postbacks
from messaging.services.messages import post_message
from messaging.validators import location_text
from messaging.wire import source_json, unix

logger = logging.getLogger(__name__)

PENDING = {"state": PlatformEventState.PENDING}
BATCH = 20
RUN_BUDGET_SECONDS = 20
MAX_ATTEMPTS = 6
# A pending link (POST /v1/appusers/{id}/channels) is confirmed by one of
# these answers from the linked number.
CONFIRM_WORDS = {"yes", "y", "ok", "confirm"}
TEXT_MAX = 10_000


def accept(integration: Integration, request) -> int:
    """Verify and store an inbound webhook's events (InboundRefused when it
    is not the platform's; nothing is stored then). Returns how many events
    were new."""
    channel = integration_class(integration.type)(integration)
    return store(integration, channel.verify(request))


def store(integration: Integration, raw_events: list) -> int:
    """Store verified RawEvents (the web request's, or an email piped into
    `manage.py receive_email`) for the worker; one already stored is not
    stored again. Returns how many were new."""
    now = timezone.now()
    with transaction.atomic():
        known = set(PlatformEvent.objects.filter(integration=integration, key__in=[e.key for e in raw_events])
                    .values_list("key", flat=True))
        fresh, seen = [], set(known)
        for event in raw_events:
            if event.key not in seen:
                seen.add(event.key)
                fresh.append(PlatformEvent(integration=integration, key=event.key[:200], payload=event.payload,
                                           received_at=now, next_attempt_at=now))
        # ignore_conflicts: the same event arriving twice at once is stored once.
        PlatformEvent.objects.bulk_create(fresh, ignore_conflicts=True)
        Integration.objects.filter(pk=integration.pk).update(last_inbound_at=now)
        if fresh:
            background.enqueue_on_commit("process_inbound")
    if len(fresh) < len(raw_events):
        logger.info("integration %s: %d repeated platform event(s) ignored", integration.id,
                    len(raw_events) - len(fresh))
    return len(fresh)


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Work pending inbound events until none is due or the budget is spent."""
    return claims.drain(PlatformEvent, pending_filter=PENDING, limit=BATCH, budget=budget,
                        work_batch=_work_batch, requeue=lambda: background.enqueue("process_inbound"))


def _work_batch(ids: list[int], token: str) -> int:
    done = 0
    for row_id in ids:
        if not claims.renew(PlatformEvent, row_id, pending_filter=PENDING, token=token,
                            attempts=F("attempts") + 1):
            continue
        row = PlatformEvent.objects.select_related("integration__app").filter(pk=row_id).first()
        if row is None:
            continue  # its integration was deleted meanwhile
        _work(row, token)
        done += 1
    return done


def _work(row: PlatformEvent, token: str) -> None:
    integration = row.integration
    cls = integration_class(integration.type)
    mine = PlatformEvent.objects.filter(pk=row.pk, claimed_by=token, **PENDING)
    try:
        parsed = cls(integration).parse(row.payload)
        with transaction.atomic(), events.batch():
            for event in parsed:
                apply(integration, event)
            mine.update(state=PlatformEventState.DONE, processed_at=timezone.now(), claimed_until=None,
                        claimed_by="", error=None)
    except PlatformError as error:
        _failed(row, mine, error.as_json(), transient=not error.permanent)
    except Exception as error:  # a bug or an unexpected payload: kept, retried a few times
        logger.exception("inbound event %s (%s %s) failed", row.pk, integration.type, row.key)
        _failed(row, mine, {"code": "internal", "message": f"{type(error).__name__}: {error}"[:500]},
                transient=True)


def _failed(row: PlatformEvent, mine, error: dict, *, transient: bool) -> None:
    if transient and row.attempts < MAX_ATTEMPTS:
        next_at = timezone.now() + claims.backoff(row.attempts)
        mine.update(next_attempt_at=next_at, claimed_until=None, claimed_by="", error=error)
        background.enqueue_on_commit("process_inbound", run_after=next_at)
        return
    mine.update(state=PlatformEventState.FAILED, processed_at=timezone.now(), claimed_until=None,
                claimed_by="", error=error)
    logger.warning("inbound event %s (%s) given up: %s", row.pk, row.key, error.get("message"))


def prune(now=None) -> int:
    """Worked events older than PARLEY_INBOUND_KEEP_DAYS go."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PARLEY_INBOUND_KEEP_DAYS)
    deleted, _ = PlatformEvent.objects.filter(
        state__in=[PlatformEventState.DONE, PlatformEventState.FAILED], received_at__lt=cutoff).delete()
    return deleted


# Applying normalised events (in the worker's transaction).

def apply(integration: Integration, event) -> None:
    handler = HANDLERS.get(event.kind)
    if handler is None:
        logger.info("integration %s: event kind %r ignored", integration.id, event.kind)
        return
    handler(integration, event.external_id[:255], event.data)


def _names(data: dict) -> dict:
    given = str(data.get("givenName") or "")[:255]
    surname = str(data.get("surname") or "")[:255]
    if not given and not surname and data.get("displayName"):
        given = str(data["displayName"])[:255]
    return {"given_name": given, "surname": surname}


def _client(integration: Integration, external_id: str, data: dict) -> Client:
    """The user's client on this integration, seen now: found by the
    platform's id for them, or a new anonymous app user and client. A user
    who writes again is reachable again (a blocked bot unblocked); an
    opt-out lasts until the user's opt-in."""
    now = timezone.now()
    # What a reply to this event needs (LINE's replyToken), else the
    # platform's id for the message (WhatsApp marks it read, email threads on it).
    ref = str(data.get("inboundRef") or data.get("platformMessageId") or "")[:255]
    verified = integration_class(integration.type).sender_verified
    find = _known_client if verified else _mail_client
    client = find(integration, external_id, data)
    names = _names(data)
    display = str(data.get("displayName") or " ".join(v for v in names.values() if v))[:255]
    if client is None:
        # A first event from this user: workers creating their user at once
        # take turns on the integration's row, and the second finds the first's.
        Integration.objects.select_for_update().filter(pk=integration.pk).first()
        client = find(integration, external_id, data)
    if client is None:
        app_user = AppUser.objects.create(app=integration.app, **names)
        client = Client.objects.create(app_user=app_user, platform=integration.type, integration=integration,
                                       external_id=external_id, display_name=display, last_seen=now,
                                       last_inbound_at=now, last_inbound_ref=ref, unverified=not verified)
        client.app_user = app_user
        unproven = "" if verified else f", unverified sender {external_id}"
        events.emit("appUser:created", app=integration.app, app_user=app_user,
                    summary=f"User {app_user.display_name} created ({integration.type}{unproven})",
                    detail={"appUser": events.user_ref(app_user), "via": integration.type,
                            "clientId": client.id, **({} if verified else {"unverified": True})})
        return client
    was_active = client.active
    changes = {"last_seen": now, "last_inbound_at": now, "active": True}
    if client.unverified and data.get("replyToken") and client.reply_token == data["replyToken"] \
            and client.external_id == external_id:
        # A reply to the address only this client was sent: the address is proven.
        changes["unverified"] = False
    if ref:
        changes["last_inbound_ref"] = ref
    if display and not client.display_name:
        changes["display_name"] = display
    if client.unreachable == "blocked":
        changes["unreachable"] = ""
        _reachable(client, "the user wrote again")
    Client.objects.filter(pk=client.pk).update(**changes)
    for key, value in changes.items():
        setattr(client, key, value)
    app_user = client.app_user
    if not app_user.given_name and not app_user.surname and any(names.values()):
        AppUser.objects.filter(pk=app_user.pk).update(**names)
        app_user.given_name, app_user.surname = names["given_name"], names["surname"]
    if not was_active:
        client_appeared(client)
    return client


def _known_client(integration: Integration, external_id: str, data: dict | None = None) -> Client | None:
    return (Client.objects.select_related("app_user__app", "integration")
            .filter(integration=integration, external_id=external_id, pending=False)
            .order_by("-last_seen").first())


def _mail_client(integration: Integration, external_id: str, data: dict) -> Client | None:
    """Where a channel's sender id can be forged (email's From): the client
    whose reply token the event carries (a reply to the Reply-To address
    only that conversation was sent), else one with this address that was
    itself opened by an unproven address. A proven client (a confirmed
    link, a reply with the token) is never joined by the address alone:
    the engine opens a new, unverified app user instead, so a forged From
    cannot read or write into someone else's conversation."""
    token = str(data.get("replyToken") or "")
    if token:
        client = (Client.objects.select_related("app_user__app", "integration")
                  .filter(app_user__app_id=integration.app_id, reply_token=token, pending=False).first())
        if client is not None:
            return client
    return (Client.objects.select_related("app_user__app", "integration")
            .filter(integration=integration, external_id=external_id, pending=False, unverified=True)
            .order_by("-last_seen").first())


def _reachable(client: Client, why: str) -> None:
    events.emit("client:reachable", app=client.app_user.app, app_user=client.app_user,
                summary=f"{client.platform}: reachable again ({why})",
                detail={"clientId": client.id, "platform": client.platform})


def _confirm_link(integration: Integration, external_id: str, text: str) -> bool:
    """A pending link's confirmation ("yes" from the linked number): the
    client is linked, and gets what it is owed."""
    if text.strip().lower().rstrip(".!") not in CONFIRM_WORDS:
        return False
    if not integration_class(integration.type).sender_verified:
        return False  # a forgeable sender (email) confirms by its signed link only
    client = (Client.objects.select_related("app_user__app")
              .filter(app_user__app=integration.app, platform=integration.type, external_id=external_id,
                      pending=True).order_by("-linked_at").first())
    if client is None:
        return False
    now = timezone.now()
    Client.objects.filter(pk=client.pk).update(pending=False, active=True, integration=integration,
                                               last_seen=now, last_inbound_at=now, unreachable="")
    client.pending, client.active, client.integration = False, True, integration
    events.emit("link:confirmed", app=integration.app, app_user=client.app_user,
                summary=f"{integration.type} linked to {client.app_user.display_name} (confirmed by the user)",
                detail={"appUser": events.user_ref(client.app_user),
                        "client": {"_id": client.id, "platform": client.platform}})
    client_appeared(client)
    return True


def _typed_link_code(integration: Integration, external_id: str, text: str, data: dict) -> bool:
    """A link request's code sent as the user's message (the chat a wa.me,
    sms: or LINE link opens, with the code as its text): a new client of the
    app user it names, the code itself not stored as a message. False (a
    plain message) when it is no code of this integration, the sender can
    be forged (email), or the platform account belongs to a user already."""
    if not integration_class(integration.type).sender_verified:
        return False
    linked = linked_app_user(integration, text)
    return bool(linked) and _linked_client(integration, external_id, {**data, "appUserId": linked}) is not None


def _last_business_message(app_user):
    return Message.objects.filter(app_user=app_user, role="appMaker").order_by("-received").first()


def _reply_picked(integration: Integration, app_user, text: str) -> dict | None:
    """The reply action of the user's latest business message that `text`
    answers: its label (a reply keyboard sends it), or its number where the
    channel sends replies as numbered options."""
    message = _last_business_message(app_user)
    if message is None or not message.actions:
        return None
    picked = None
    if integration_class(integration.type).capabilities.numbered_replies:
        picked = fallback.numbered_reply(message, text)
    if picked is None:
        wanted = text.strip().casefold()
        picked = next((a for a in message.actions if a.get("type") == "reply"
                       and str(a.get("text", "")).strip().casefold() == wanted), None)
    return picked


def _reply_given(app_user, text: str, data: dict) -> dict | None:
    """The reply action the platform says the user picked (a WhatsApp reply
    button carries its payload back, or the action's `_id` as `actionId`
    when the payload did not fit), or None when it says nothing or names
    an action no recent message has."""
    if data.get("actionId"):
        message = postbacks.message_with_action(app_user, str(data["actionId"]))
        found = postbacks.action_of(message, str(data["actionId"])) if message is not None else None
        if found is None:
            return None
        return {"text": found.get("text") or text, "payload": found.get("payload", "")}
    if data.get("payload") and text:
        return {"text": text, "payload": str(data["payload"])}
    return None


def _stored_media(integration: Integration, app_user, found) -> dict:
    """A file the platform held, stored like an upload: the message fields
    for it (an image), or a plain note for a file type Parley does not show."""
    ext = media.sniff(found.content[:16])
    if ext is None or len(found.content) > settings.PARLEY_MAX_IMAGE_BYTES:
        return {"note": f"[attachment not shown: {found.content_type or 'unknown type'}, "
                        f"{len(found.content)} bytes]"}
    name, content_type = media.store_image(ContentFile(found.content), app_id=integration.app_id,
                                           app_user_id=app_user.id, ext=ext)
    base_url = settings.PARLEY_PUBLIC_URL or _origin(integration.inbound_url)
    return {"media_url": media.public_url(name, base_url=base_url), "media_type": content_type}


def _origin(url: str) -> str:
    found = re.match(r"^(https?://[^/]+)", url or "")
    return found.group(1) if found else ""


def _on_message(integration: Integration, external_id: str, data: dict) -> None:
    text = str(data.get("text") or "")[:TEXT_MAX]
    if text and (_typed_link_code(integration, external_id, text, data)
                 or _confirm_link(integration, external_id, text)):
        return
    client = _client(integration, external_id, data)
    if client.unreachable == "opted_out" and text.strip().lower() == "yes":
        # Twilio takes YES as an opt-in too.
        _on_opt_in(integration, external_id, data, client=client)
    app_user = client.app_user
    fields = {"type": "text", "text": text}
    if data.get("coordinates"):
        raw = data["coordinates"]
        coordinates = {"lat": float(raw["lat"]), "long": float(raw["long"])}
        fields = {"type": "location", "text": text or location_text(coordinates), "coordinates": coordinates}
    elif data.get("media") is not None:
        stored = _stored_media(integration, app_user, data["media"])
        if "note" in stored:
            fields["text"] = "\n".join(part for part in (text, stored["note"]) if part)
        else:
            fields = {"type": "image", "text": text, **stored}
    elif text or data.get("actionId"):
        picked = _reply_given(app_user, text, data) or _reply_picked(integration, app_user, text)
        if picked is not None:
            fields = {"type": "text", "text": str(picked.get("text", text))[:TEXT_MAX],
                      "payload": str(picked.get("payload", ""))[:1000]}
    if not fields.get("text") and fields["type"] == "text":
        return  # nothing the conversation can show (an empty or unknown message)
    # As for the API's user messages: the author's name is the user's.
    fields["name"] = app_user.full_name
    post_message(app_user, role="appUser", fields=fields, source=source_json(client))


def _on_postback(integration: Integration, external_id: str, data: dict) -> None:
    client = _client(integration, external_id, data)
    action = {"payload": str(data.get("payload") or "")}
    if data.get("text"):
        action["text"] = str(data["text"])
    action_id = data.get("actionId")
    if action_id:
        message = postbacks.message_with_action(client.app_user, str(action_id))
        found = postbacks.action_of(message, str(action_id)) if message is not None else None
        if found is None:
            logger.info("integration %s: postback for unknown action %s ignored", integration.id, action_id)
            return
        action.update({"_id": found["_id"], "payload": found.get("payload", ""), "text": found.get("text", "")})
    postbacks.record_postback(client.app_user, client, action)


def _on_start(integration: Integration, external_id: str, data: dict) -> None:
    """The user opened the conversation (Telegram /start): the conversation
    starts (once) with the deep-link payload as its referral. A link the
    channel verified as naming an app user (`appUserId`) joins a new client
    to that user instead of a new anonymous one."""
    client = _linked_client(integration, external_id, data) if data.get("appUserId") else None
    client = client or _client(integration, external_id, data)
    app_user = client.app_user
    if AppUser.objects.filter(pk=app_user.pk, conversation_started=False).update(conversation_started=True):
        app_user.conversation_started = True  # the payload's appUser says so
        source = source_json(client)
        detail = {"appUser": events.user_ref(app_user), "source": source}
        webhook = {"source": source, "timestamp": unix(timezone.now())}
        if data.get("payload"):
            detail["referral"] = webhook["referral"] = {"code": str(data["payload"])[:200]}
        events.emit("conversation:start", app=integration.app, app_user=app_user,
                    summary=f"Conversation started with {app_user.display_name} ({integration.type})",
                    detail=detail, webhook=webhook)


def _linked_client(integration: Integration, external_id: str, data: dict) -> Client | None:
    """A new client for `appUserId` (of the integration's app) on this
    platform id. None when the platform id is known already (it stays with
    its user: one platform account is one client) or the user is not the
    app's (deleted since the link was made)."""
    if _known_client(integration, external_id) is not None:
        return None
    app_user = AppUser.objects.select_related("app").filter(app=integration.app, id=str(data["appUserId"])).first()
    if app_user is None:
        return None
    now = timezone.now()
    display = str(data.get("displayName") or "")[:255]
    client = Client.objects.create(app_user=app_user, platform=integration.type, integration=integration,
                                   external_id=external_id, display_name=display, last_seen=now,
                                   last_inbound_at=now, linked_at=now)
    client.app_user = app_user
    events.emit("link:confirmed", app=integration.app, app_user=app_user,
                summary=f"{integration.type} linked to {app_user.display_name} (the user opened the link)",
                detail={"appUser": events.user_ref(app_user), "client": {"_id": client.id, "platform": client.platform}})
    client_appeared(client)
    return client


def _on_delivery(integration: Integration, external_id: str, data: dict) -> None:
    platform_id = str(data.get("platformMessageId") or "")
    if platform_id:
        platform_receipt(integration, platform_id, str(data.get("state", "")), data.get("error"))
    elif data.get("watermark") is not None:
        platform_watermark(integration, external_id, "delivered", data["watermark"])


def _on_read(integration: Integration, external_id: str, data: dict) -> None:
    if data.get("platformMessageId"):
        platform_receipt(integration, str(data["platformMessageId"]), "read")
        return
    if data.get("watermark") is not None:
        platform_watermark(integration, external_id, "read", data["watermark"])
        return
    client = (Client.objects.select_related("app_user__app")
              .filter(integration=integration, external_id=external_id, pending=False).first())
    if client is not None:
        conversation_read(client.app_user, client)


def _on_opt_out(integration: Integration, external_id: str, data: dict) -> None:
    for client in Client.objects.select_related("app_user__app").filter(
            integration=integration, external_id=external_id).exclude(unreachable="opted_out"):
        Client.objects.filter(pk=client.pk).update(unreachable="opted_out")
        events.emit("client:unreachable", app=integration.app, app_user=client.app_user,
                    summary=f"{integration.type}: the user opted out ({data.get('text') or 'STOP'})",
                    detail={"clientId": client.id, "platform": client.platform, "reason": "opted_out"})


def _on_opt_in(integration: Integration, external_id: str, data: dict, client: Client | None = None) -> None:
    clients = [client] if client is not None else list(
        Client.objects.select_related("app_user__app").filter(integration=integration, external_id=external_id,
                                                              unreachable="opted_out"))
    for each in clients:
        Client.objects.filter(pk=each.pk).update(unreachable="", last_seen=timezone.now())
        each.unreachable = ""
        _reachable(each, "the user opted in")


def _on_inactive(integration: Integration, external_id: str, data: dict) -> None:
    """The user left the channel (LINE unfollow: blocked the account). The
    platform still takes messages for them and drops them, so the client is
    no longer targeted; their next event makes it active again (`_client`)."""
    for client in Client.objects.select_related("app_user__app").filter(
            integration=integration, external_id=external_id, active=True):
        Client.objects.filter(pk=client.pk).update(active=False)
        events.emit("client:unreachable", app=integration.app, app_user=client.app_user,
                    summary=f"{integration.type}: the user left the channel",
                    detail={"clientId": client.id, "platform": client.platform, "reason": "inactive"})


HANDLERS = {
    "message": _on_message,
    "postback": _on_postback,
    "start": _on_start,
    "delivery": _on_delivery,
    "read": _on_read,
    "opt_out": _on_opt_out,
    "opt_in": _on_opt_in,
    "inactive": _on_inactive,
}
