"""Property tests (hypothesis) for what Parley promises of client input,
of its text fallbacks and of signatures: the body decoder, the message
validator and the OpenAPI document agree and never fail but as promised;
every channel's fallback text fits and keeps what it says it keeps; every
signature Parley makes verifies and no altered one does.

Derandomized (the same examples every run) and small, so the file stays
well under a minute on a loaded machine. Each property says which bug it
would catch.
"""

import base64
import hashlib
import hmac
import json
import math
import re
import time
from decimal import Decimal
from functools import partial
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook as StandardWebhook

from messaging import jsonbody, schemas, validators
from messaging.integrations import fallback
from messaging.integrations.base import InboundRefused
from messaging.integrations.email import SECRET_HEADER as EMAIL_HEADER
from messaging.integrations.email import mailgun_signature
from messaging.integrations.graph import SIGNATURE_HEADER as HUB_HEADER
from messaging.integrations.line import SIGNATURE_HEADER as LINE_HEADER
from messaging.integrations.line import signature as line_signature
from messaging.integrations.registry import REGISTRY
from messaging.integrations.telegram import SECRET_HEADER as TELEGRAM_HEADER
from messaging.integrations.twilio import signature as twilio_signature
from messaging.integrations.viber import SIGNATURE_HEADER as VIBER_HEADER
from messaging.integrations.viber import signature as viber_signature
from messaging.models import App, Integration, Message, Webhook
from messaging.models.apps import new_signing_secret
from messaging.webhooks.sender import signature as webhook_signature
from messaging.wire import message_json

FAST = settings(derandomize=True, max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
QUICK = settings(FAST, max_examples=15)


def _changed(value: str, index: int, replacement: str) -> str:
    """`value` with the character at `index` (modulo its length) replaced
    by `replacement`, or by another one when they are the same."""
    index %= len(value)
    if value[index] == replacement:
        replacement = "b" if replacement == "a" else "a"
    return value[:index] + replacement + value[index + 1:]


def _flipped(value: bytes, index: int, bit: int) -> bytes:
    """`value` with one bit of one byte flipped: a different byte string."""
    index %= len(value)
    return value[:index] + bytes([value[index] ^ (1 << (bit % 8))]) + value[index + 1:]


# ----------------------------------------------------------- arbitrary JSON

# Any code point, lone surrogates and NUL included (hypothesis' default
# text leaves surrogates out).
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=12) | st.sampled_from(["\x00", "\udfff", "a\ud800b", "", " "])
SCALARS = (st.none() | st.booleans()
           | st.integers(min_value=-(2**70), max_value=2**70)
           | st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30])
           | st.floats(allow_nan=True, allow_infinity=True)
           | ANY_TEXT)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _nested(depth: int, leaf):
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


DEEP = st.builds(_nested, st.integers(min_value=1, max_value=3000), SCALARS)


def _depth(value) -> int:
    """Levels of containers (a scalar: 0), iteratively as the decoder counts."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def _storable(value) -> bool:
    """The oracle, written apart from messaging.jsonbody: what PostgreSQL's
    jsonb and a UTF-8 page take (no NUL, no lone surrogate, finite numbers,
    64-bit integers)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                stack.append(key)
                stack.append(child)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            if "\x00" in node or any(0xD800 <= ord(char) <= 0xDFFF for char in node):
                return False
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -(2**63) <= node <= 2**63 - 1:
                return False
        elif isinstance(node, float) and not math.isfinite(node):
            return False
    return True


@pytest.mark.django_db
@FAST
@given(value=JSONISH | DEEP)
def test_decode_returns_storable_json_or_a_body_error(value, settings):
    """Catches: a value the decoder lets through that PostgreSQL refuses (a
    NUL, a lone surrogate: a 500 at INSERT), an exception other than
    BodyError (RecursionError, OverflowError: a 500 instead of a 400), and a
    clean body refused (over-eager checks)."""
    raw = json.dumps(value)  # NaN, Infinity and lone surrogates as JSON spells them
    try:
        decoded = jsonbody.decode(raw, max_bytes=10**7)
    except jsonbody.BodyError as error:
        assert error.status == 400
        assert not _storable(value) or _depth(value) > settings.PARLEY_MAX_JSON_DEPTH, error.description
        return
    assert _storable(decoded) and _depth(decoded) <= settings.PARLEY_MAX_JSON_DEPTH
    assert decoded == value
    # PostgreSQL itself takes it, as jsonb and as text, and gives it back.
    with connection.cursor() as cursor:
        text = json.dumps(decoded, ensure_ascii=False)
        cursor.execute("SELECT %s::jsonb, %s::text", [text, text])
        stored, as_text = cursor.fetchone()
    assert json.loads(as_text) == decoded
    # (Django's connection hands jsonb back as its text.)
    # (Django's connection hands jsonb back as its text; jsonb keeps numbers
    # as decimals, 7.2e+16 comes back 72000000000000000: compared as such.)
    exact = partial(json.loads, parse_float=Decimal, parse_int=Decimal)
    assert exact(stored if isinstance(stored, str) else json.dumps(stored)) == exact(text)


@FAST
@given(raw=st.binary(max_size=40) | st.text(ANY_CHAR, max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_decode_of_arbitrary_bytes_raises_only_body_error(raw):
    """Catches: bytes that are not JSON (or not UTF-8) escaping as
    UnicodeDecodeError or JSONDecodeError of another kind than BodyError."""
    try:
        decoded = jsonbody.decode(raw)
    except jsonbody.BodyError as error:
        assert error.status == 400
        return
    assert _storable(decoded)


# ------------------------------------------------------------ valid messages

SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from("\n \t😀"),
                    min_size=0, max_size=40)
LABEL = SAFE_TEXT.filter(lambda t: t.strip())
HOST = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z]{2,5}){1,2}", fullmatch=True)
PATH = st.from_regex(r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@]{0,10}|/%[0-9A-F]{2}){0,3}(\?[a-z]=[0-9]{1,4})?", fullmatch=True)
HTTP = st.builds(lambda scheme, host, path: f"{scheme}://{host}{path}", st.sampled_from(["http", "https"]), HOST, PATH)
URI = HTTP | st.from_regex(r"tel:\+[1-9][0-9]{6,12}", fullmatch=True) | st.builds("mailto:{}@{}".format,
                                                                                    st.from_regex(r"[a-z]{1,8}", fullmatch=True), HOST)
FLAT_METADATA = st.dictionaries(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(lambda c: c != "\x00"),
                                        max_size=8),
                                st.none() | st.booleans() | st.integers(-(2**53), 2**53) | SAFE_TEXT
                                | st.floats(allow_nan=False, allow_infinity=False),
                                max_size=4)
PAYLOAD = LABEL

LINK = st.fixed_dictionaries({"type": st.just("link"), "text": LABEL, "uri": URI}, optional={"default": st.booleans()})
BUY = st.fixed_dictionaries({"type": st.just("buy"), "text": LABEL, "amount": st.integers(1, 10**9)},
                            optional={"currency": st.sampled_from(["usd", "CAD", "eur"])})
POSTBACK = st.fixed_dictionaries({"type": st.just("postback"), "text": LABEL, "payload": PAYLOAD},
                                 optional={"metadata": FLAT_METADATA})
REPLY = st.fixed_dictionaries({"type": st.just("reply"), "text": LABEL, "payload": PAYLOAD},
                              optional={"iconUrl": HTTP})
LOCATION_REQUEST = st.fixed_dictionaries({"type": st.just("locationRequest"), "text": LABEL})
SHARE = st.just({"type": "share"})

BUTTONS = st.lists(LINK | BUY | POSTBACK, min_size=1, max_size=5)
QUICK_REPLIES = st.lists(REPLY | LOCATION_REQUEST, min_size=1, max_size=6)
ITEM = st.fixed_dictionaries(
    {"title": LABEL, "actions": st.lists(LINK | POSTBACK | SHARE, min_size=1, max_size=3)},
    optional={"description": SAFE_TEXT, "mediaUrl": HTTP, "size": st.sampled_from(schemas.ITEM_SIZES),
              "metadata": FLAT_METADATA},
)
COMMON = {"name": SAFE_TEXT, "metadata": FLAT_METADATA, "payload": SAFE_TEXT,
          "email": st.builds("{}@{}".format, st.from_regex(r"[a-z]{1,8}", fullmatch=True), HOST),
          "avatarUrl": HTTP}


def _message(role, type_, required, optional=None):
    return st.tuples(st.just(role), st.fixed_dictionaries({"type": st.just(type_), **required},
                                                           optional={**COMMON, **(optional or {})}))


# Picked by index first: st.one_of's derandomized draws kept to the first
# few shapes.
MESSAGES = st.sampled_from([
    _message("appUser", "text", {"text": LABEL}),
    _message("appMaker", "text", {"text": SAFE_TEXT, "actions": BUTTONS | QUICK_REPLIES}),
    # Buttons only, no text: what the fallback must still show something for.
    _message("appMaker", "text", {"actions": st.lists(POSTBACK, min_size=1, max_size=3)
                                  | st.lists(REPLY, min_size=1, max_size=3)}),
    _message("appMaker", "image", {"mediaUrl": HTTP}, {"text": SAFE_TEXT, "actions": BUTTONS}),
    _message("appUser", "image", {"mediaUrl": HTTP}, {"text": SAFE_TEXT}),
    _message("appMaker", "carousel", {"items": st.lists(ITEM, min_size=1, max_size=10)}, {"text": SAFE_TEXT}),
    _message("appMaker", "list", {"items": st.lists(ITEM, min_size=1, max_size=10)},
             {"text": SAFE_TEXT, "actions": BUTTONS}),
    _message("appUser", "location", {"coordinates": st.fixed_dictionaries(
        {"lat": st.floats(-90, 90), "long": st.floats(-180, 180)})}, {"text": SAFE_TEXT}),
]).flatmap(lambda shape: shape)

# A valid message with one field (top level, in an action or in an item)
# replaced by arbitrary JSON, or an unknown key added.
FIELD_NAMES = st.sampled_from([*schemas.MESSAGE["properties"], "zzz", ""])
INNER_NAMES = st.sampled_from(["type", "text", "uri", "payload", "amount", "currency", "title", "actions",
                               "mediaUrl", "description", "metadata", "iconUrl", "default", "size", "lat"])


@st.composite
def mutated_messages(draw):
    role, body = draw(MESSAGES)
    role = draw(st.sampled_from([role, role, "appUser", "appMaker"]))
    body = json.loads(json.dumps(body))
    where = draw(st.sampled_from(["top", "action", "item", "item action", "coordinates"]))
    value = draw(JSONISH)
    if where == "action" and body.get("actions"):
        draw(st.sampled_from(body["actions"]))[draw(INNER_NAMES)] = value
    elif where == "item" and body.get("items"):
        draw(st.sampled_from(body["items"]))[draw(INNER_NAMES)] = value
    elif where == "item action" and body.get("items"):
        draw(st.sampled_from(draw(st.sampled_from(body["items"]))["actions"]))[draw(INNER_NAMES)] = value
    elif where == "coordinates" and "coordinates" in body:
        body["coordinates"][draw(st.sampled_from(["lat", "long", "x"]))] = value
    else:
        body[draw(FIELD_NAMES)] = value
    return role, body


DOCUMENT = Draft202012Validator(validators.as_read(schemas.MESSAGE), format_checker=validators.FORMATS)


@pytest.fixture
def app_user(app):
    return app.app_users.create(user_id="prop-user")


def _same_json(a, b) -> bool:
    """Equal as JSON values, numbers compared as decimals: jsonb keeps a
    number as its decimal value (6.4e+16 comes back 64000000000000000)."""
    exact = partial(json.loads, parse_float=Decimal, parse_int=Decimal)
    return exact(json.dumps(a)) == exact(json.dumps(b))


def _store(app_user, role: str, fields: dict) -> Message:
    """The message as messaging.services.messages.post_message builds it,
    saved (targeting left out: destination clients are the engine's)."""
    kept = {k: v for k, v in fields.items()
            if v is not None or k in ("metadata", "destination", "coordinates", "override")}
    message = Message(app_id=app_user.app_id, app_user=app_user, role=role, source={"type": "api"}, **kept)
    message.save(force_insert=True)
    return message


def _check_accepted(app_user, role: str, body: dict, fields: dict) -> None:
    """What validate_message accepted: the document takes it too, it is
    stored without error and comes back as it went in."""
    problems = [error.message for error in DOCUMENT.iter_errors({**body, "role": role})]
    assert not problems, problems
    message = _store(app_user, role, fields)
    stored = Message.objects.get(pk=message.pk)
    for key in ("text", "actions", "items", "coordinates", "metadata", "payload", "name", "email", "avatar_url"):
        assert _same_json(getattr(stored, key), fields[key] if fields.get(key) is not None else getattr(message, key)), key
    json.dumps(message_json(stored))


@pytest.mark.django_db
@QUICK
@given(case=MESSAGES)
def test_valid_messages_are_accepted_documented_and_storable(case, app_user):
    """Catches: a message the reference allows refused (a rule too strict);
    the document (as_read) refusing what the API takes (the two drifting:
    a client generated from it could not send it); a field value a column
    refuses (a 500 at INSERT: a too long URL, a NUL)."""
    role, body = case
    try:
        fields = validators.validate_message(body, role=role, app_user=app_user)
    except validators.ValidationError as error:
        # Only the cross-field rules the generator does not model may refuse.
        assert re.search(r"mediaType|alone or together|list messages take", error.description), error.description
        return
    _check_accepted(app_user, role, body, fields)


@pytest.mark.django_db
@QUICK
@given(case=mutated_messages())
def test_mutated_messages_raise_only_validation_error(case, app_user):
    """Catches: a KeyError / TypeError / AttributeError on an unexpected
    type somewhere in a message (a 500 for a client's mistake), and a
    value accepted that cannot be stored or that the document refuses."""
    role, body = case
    try:
        fields = validators.validate_message(body, role=role, app_user=app_user)
    except validators.ValidationError as error:
        assert error.description and error.status == 400
        return
    _check_accepted(app_user, role, body, fields)


# --------------------------------------------------------------- fallbacks

CHANNELS_WITH_TEXT_LIMIT = sorted((type_, cls) for type_, cls in REGISTRY.items() if cls.limits.text)
SHOWN_ACTIONS = ("link", "webview", "buy")


def _unsaved(fields: dict, role: str, app_name: str) -> Message:
    kept = {k: v for k, v in fields.items() if v is not None and k not in ("destination", "override")}
    return Message(app=App(name=app_name), role=role, **kept)


def _promised(message: Message, app_name: str, numbered: bool) -> list[str]:
    """What render_text promises to show (fallback.py's docstring): the
    text, each item's title and description, every link / buy action's
    label and URI, a location request's sentence, numbered reply labels
    where the channel takes numbers."""
    wanted = [message.text.strip()] if message.text.strip() else []
    if message.type in ("carousel", "list"):
        groups = [item["actions"] for item in message.items]
        wanted += [item["title"] for item in message.items]
        wanted += [item["description"] for item in message.items if item.get("description")]
    else:
        groups = [message.actions]
        if message.type == "image":
            wanted.append(message.media_url)
    for actions in groups:
        for action in actions:
            if action["type"] in SHOWN_ACTIONS:
                wanted.append(action.get("uri", ""))
                wanted.append(action["text"].strip())
            elif action["type"] == "locationRequest":
                wanted.append(f"{app_name} has requested a location")
            elif action["type"] == "reply" and numbered:
                wanted.append(action["text"])
    return [piece for piece in wanted if piece]


@pytest.mark.django_db
@FAST
@given(case=MESSAGES, app_name=LABEL, numbered=st.booleans())
# Buttons only, no text (the derandomized draws reach them too rarely):
# their fallback was empty.
@example(case=("appMaker", {"type": "text", "actions": [{"type": "postback", "text": "Go", "payload": "go"}]}),
         app_name="Shop", numbered=False)
@example(case=("appMaker", {"type": "text", "actions": [{"type": "reply", "text": "Yes", "payload": "y"}]}),
         app_name="Shop", numbered=False)
def test_text_fallback_keeps_what_it_promises_and_fits_every_channel(case, app_name, numbered):
    """Catches: an empty fallback (a platform refuses an empty text, the
    delivery fails), a link's URI or an item left out of the text (the
    user never sees the button), an exception on a shape of message, and
    a part longer than the channel's limit after split_text (the platform
    refuses the send)."""
    role, body = case
    try:
        fields = validators.validate_message(body, role=role, app_user=None)
    except validators.ValidationError:
        assume(False)
    message = _unsaved(fields, role, app_name)
    text = fallback.render_text(message, app_name, numbered_replies=numbered)
    assert isinstance(text, str) and text.strip()
    for piece in _promised(message, app_name, numbered):
        assert piece in text, (piece, text)
    caption = fallback.render_caption(message, app_name, numbered_replies=numbered)
    assert isinstance(caption, str)
    for type_, cls in CHANNELS_WITH_TEXT_LIMIT:
        parts = fallback.split_text(text, cls.limits.text)
        assert parts and all(fallback.utf16_length(part) <= cls.limits.text for part in parts), type_


@FAST
@given(text=st.text(ANY_CHAR.filter(lambda c: not 0xD800 <= ord(c) <= 0xDFFF) | st.sampled_from("\n  😀"),
                    max_size=200), limit=st.integers(min_value=1, max_value=40))
def test_split_text_fits_and_loses_nothing_but_separators(text, limit):
    """Catches: a piece over the limit (counted in UTF-16, as Telegram
    does: an emoji is two), a cut inside a character, and text lost or
    duplicated at a cut (only the one separator a cut is made at, and
    whitespace-only pieces, may go)."""
    parts = fallback.split_text(text, limit)
    assert parts
    assert all(fallback.utf16_length(part) <= limit for part in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)


# -------------------------------------------------------------- signatures

MESSAGE_IDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30).filter(
    lambda t: " " not in t)
BODIES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
# Seconds from the time the example runs (not the module's import: in the
# whole suite that is many minutes before, past the library's 5-minute
# tolerance of a webhook-timestamp).
NEAR_NOW = st.integers(min_value=-240, max_value=240)


def _verifies(secret: str, message_id: str, timestamp: str, body: str, header: str) -> bool:
    try:
        StandardWebhook(secret).verify(body, {"webhook-id": message_id, "webhook-timestamp": timestamp,
                                              "webhook-signature": header}, json_parse=False)
    except Exception:  # WebhookVerificationError, or a header that does not even parse
        return False
    return True


@FAST
@given(message_id=MESSAGE_IDS, at=NEAR_NOW, body=BODIES, index=st.integers(0, 10**6), char=ANY_CHAR,
       bit=st.integers(0, 7), rotating=st.booleans())
def test_webhook_signature_verifies_and_no_alteration_does(message_id, at, body, index, char, bit, rotating):
    """Catches: a signature over other bytes than Standard Webhooks signs
    (id.timestamp.body), a timestamp header that is not the signed one, a
    rotation's second signature that does not verify with the previous
    secret, and a signature that ignores part of what it covers."""
    assume(not (0xD800 <= ord(char) <= 0xDFFF))
    now = datetime.now(UTC)
    at = now + timedelta(seconds=at)
    webhook = Webhook(signing_secret=new_signing_secret())
    if rotating:
        webhook.previous_signing_secret = new_signing_secret()
        webhook.previous_signing_until = now + timedelta(hours=1)
    header = webhook_signature(webhook, message_id, at, body)
    timestamp = str(int(at.timestamp()))
    assert _verifies(webhook.signing_secret, message_id, timestamp, body, header)
    if rotating:
        assert _verifies(webhook.previous_signing_secret, message_id, timestamp, body, header)
    assert not _verifies(new_signing_secret(), message_id, timestamp, body, header)
    secret = webhook.signing_secret
    if body:
        assert not _verifies(secret, message_id, timestamp, _changed(body, index, char), header)
    assert not _verifies(secret, body and _changed(message_id, index, char) or message_id + char, timestamp,
                         body, header)
    changed_timestamp = str(int(timestamp) + (index % 200) + 1)
    assert not _verifies(secret, message_id, changed_timestamp, body, header)
    # The signature itself: any bit of any signature's HMAC changed.
    altered = []
    for part in header.split(" "):
        version, mac = part.split(",")
        altered.append(f"{version},{base64.b64encode(_flipped(base64.b64decode(mac), index, bit)).decode()}")
    assert not _verifies(secret, message_id, timestamp, body, " ".join(altered))


RAW_BODIES = st.binary(max_size=200)
SECRETS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40)
FACTORY = RequestFactory()


def _post(body: bytes, content_type="application/json", **headers):
    return FACTORY.post("/inbound", data=body, content_type=content_type, headers=headers)


def _status(integration, request) -> int:
    """403 when the channel refused the signature, else what it did with
    the (arbitrary) body: 400 for a body that is not the platform's, 200."""
    try:
        integration.verify(request)
    except InboundRefused as refused:
        return refused.status
    return 200


@FAST
@given(body=RAW_BODIES, secret=SECRETS, index=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_meta_signature_accepts_the_right_one_and_refuses_any_change(body, secret, index, bit):
    """Messenger and WhatsApp (X-Hub-Signature-256). Catches: a signature
    checked over the parsed rather than the raw body, one that ignores a
    byte, and a prefix or case trick accepted for a wrong digest."""
    for cls in (REGISTRY["messenger"], REGISTRY["whatsapp"]):
        integration = cls(Integration(type=cls.type, credentials={"appSecret": secret}))
        good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert _status(integration, _post(body, **{HUB_HEADER: good})) != 403
        assert _status(integration, _post(body, **{HUB_HEADER: good.upper().replace("SHA256=", "sha256=")})) != 403
        if body:
            assert _status(integration, _post(_flipped(body, index, bit), **{HUB_HEADER: good})) == 403
        bad = "sha256=" + _changed(good[7:], index, "0")
        assert _status(integration, _post(body, **{HUB_HEADER: bad})) == 403
        assert _status(integration, _post(body, **{HUB_HEADER: good[7:]})) == 403
        assert _status(integration, _post(body)) == 403


@pytest.mark.django_db
@FAST
@given(body=RAW_BODIES, secret=SECRETS, index=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_line_and_viber_signatures_accept_the_right_one_and_refuse_any_change(body, secret, index, bit):
    """LINE (X-Line-Signature, base64) and Viber (X-Viber-Content-Signature,
    hex), both HMAC-SHA256 of the raw body. Catches what the Meta property
    does, for these channels' own header formats."""
    line = REGISTRY["line"](Integration(type="line", credentials={"channelSecret": secret}))
    good = line_signature(secret, body)
    assert good == base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert _status(line, _post(body, **{LINE_HEADER: good})) != 403
    if body:
        assert _status(line, _post(_flipped(body, index, bit), **{LINE_HEADER: good})) == 403
    mac = base64.b64decode(good)
    assert _status(line, _post(body, **{LINE_HEADER: base64.b64encode(_flipped(mac, index, bit)).decode()})) == 403
    assert _status(line, _post(body)) == 403

    viber = REGISTRY["viber"](Integration(id="prop-viber", type="viber", credentials={"token": secret}))
    good = viber_signature(secret, body)
    assert good == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert _status(viber, _post(body, **{VIBER_HEADER: good})) != 403
    if body:
        assert _status(viber, _post(_flipped(body, index, bit), **{VIBER_HEADER: good})) == 403
    assert _status(viber, _post(body, **{VIBER_HEADER: _changed(good, index, "0")})) == 403
    assert _status(viber, _post(body)) == 403


@FAST
@given(body=RAW_BODIES, secret=SECRETS, other=SECRETS)
def test_telegram_secret_token_accepts_only_its_own(body, secret, other):
    """Catches: a missing or empty header taken as matching an empty
    secret, a prefix of the secret accepted, and a body-dependent check."""
    assume(other != secret)
    telegram = REGISTRY["telegram"](Integration(type="telegram", webhook_secret=secret))
    assert _status(telegram, _post(body, **{TELEGRAM_HEADER: secret})) != 403
    assert _status(telegram, _post(body, **{TELEGRAM_HEADER: other})) == 403
    assert _status(telegram, _post(body, **{TELEGRAM_HEADER: secret[:-1]})) == 403
    assert _status(telegram, _post(body)) == 403
    unset = REGISTRY["telegram"](Integration(type="telegram", webhook_secret=""))
    assert _status(unset, _post(body, **{TELEGRAM_HEADER: ""})) == 403


FORM_VALUES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(lambda c: c != "\x00"),
                      max_size=20)
FORMS = st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True), FORM_VALUES, max_size=6)


@FAST
@given(params=FORMS, token=SECRETS, index=st.integers(0, 10**6), char=st.sampled_from("aZ9+ é"))
def test_twilio_signature_accepts_the_right_one_and_refuses_any_change(params, token, index, char):
    """X-Twilio-Signature over the registered URL and the sorted POST
    parameters. Catches: a parameter left out of what is signed, parameters
    signed unsorted or with the URL Parley was called at instead of the
    registered one, and a changed value or signature accepted."""
    params = {**params, "MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    url = "https://parley.example/inbound/twilio/abc"
    twilio = REGISTRY["twilio"](Integration(type="twilio", credentials={"authToken": token}, inbound_url=url))
    good = twilio_signature(token, url, params)
    signed = url + "".join(name + params[name] for name in sorted(params))
    assert good == base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()

    def post(form, signature):
        request = FACTORY.post("/elsewhere", data=form, headers={"X-Twilio-Signature": signature})
        return _status(twilio, request)

    assert post(params, good) != 403
    name = sorted(params)[index % len(params)]
    assert post({**params, name: _changed(params[name], index, char) if params[name] else char}, good) == 403
    assert post({**params, "Extra": "1"}, good) == 403
    assert post(params, base64.b64encode(_flipped(base64.b64decode(good), index, 1)).decode()) == 403
    assert post(params, "") == 403


@FAST
@given(key=SECRETS, token=st.from_regex(r"[a-z0-9]{10,50}", fullmatch=True), index=st.integers(0, 10**6),
       drift=st.integers(-200, 200))
def test_mailgun_signature_accepts_the_right_one_and_refuses_any_change(key, token, index, drift):
    """HMAC-SHA256(signing key, timestamp + token), hex, within five minutes.
    Catches: a signature not bound to the timestamp or the token (a
    captured post replayed with another), and a changed signature taken."""
    mailgun = REGISTRY["mailgun"](Integration(type="mailgun", credentials={"webhookSigningKey": key}))
    timestamp = str(int(time.time()) + drift)
    good = mailgun_signature(key, timestamp, token)
    assert good == hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    mailgun._signed({"timestamp": timestamp, "token": token, "signature": good})
    refused = [
        {"timestamp": timestamp, "token": token, "signature": _changed(good, index, "0")},
        {"timestamp": str(int(timestamp) + 1), "token": token, "signature": good},
        {"timestamp": timestamp, "token": _changed(token, index, "x"), "signature": good},
        {"timestamp": timestamp, "token": token, "signature": ""},
        {"timestamp": timestamp, "token": token, "signature": mailgun_signature(key + "x", timestamp, token)},
    ]
    for fields in refused:
        with pytest.raises(InboundRefused):
            mailgun._signed(fields)


@pytest.mark.django_db
@QUICK
@given(secret=SECRETS, other=SECRETS, body=st.binary(max_size=100))
def test_email_forwarder_secret_accepts_only_its_own(secret, other, body):
    """The forwarder's X-Parley-Secret. Catches: a wrong or missing secret
    accepted (anyone could post mail into a conversation)."""
    assume(other != secret)
    email = REGISTRY["email"](Integration(type="email", webhook_secret=secret))
    assert _status(email, _post(body, content_type="message/rfc822", **{EMAIL_HEADER: secret})) != 403
    assert _status(email, _post(body, content_type="message/rfc822", **{EMAIL_HEADER: other})) == 403
    assert _status(email, _post(body, content_type="message/rfc822")) == 403
