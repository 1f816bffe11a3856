"""Email: one channel, two transports.

- `email`: sent through Django's email backend (MAILERS / EMAIL_*: an SMTP
  relay in production), received as raw RFC 822 messages POSTed to the
  integration's inbound URL with `Content-Type: message/rfc822` (the way
  mail services forward mail), or piped by an MTA into
  `manage.py receive_email <integrationId>`. The POST proves itself with
  the integration's webhook secret, either in the `X-Parley-Secret` header
  or as the password of HTTP basic auth (any user name): forwarders that
  can set headers use the first, those that only take a URL the second
  (https://parley:<secret>@host/...).
- `mailgun`: sent with Mailgun's HTTP API (`POST {PARLEY_MAILGUN_API_BASE}
  /v3/{domain}/messages`, basic auth api:<apiKey>, form fields), checked
  with `GET /v3/domains/{domain}`; received through a Mailgun route that
  forwards to the inbound URL: Mailgun's parsed fields (or `body-mime` for
  a route whose URL ends in "mime"), signed with `timestamp`, `token` and
  `signature` = hex HMAC-SHA256(webhook signing key, timestamp + token);
  a timestamp more than five minutes away is refused as a replay.

Sending: every message is one email, multipart text + HTML rendered from
the templates under messaging/templates/messaging/email/ (the one HTML
`messaging/` renders, DESIGN.md). Images are linked (<img src> to the
media URL, nothing attached); link buttons are links; `reply` buttons are
numbered options (the engine maps a bare-number answer back, as for SMS);
postback buttons have no way back through email and are left out, as the
shared text fallback does; carousels and lists are a numbered list of
items with their links; a location is a map link. Subject: the app's name,
"Re: <app name>" once the thread has an earlier email, so mail clients
keep one thread.

Threading: each email gets its own Message-ID (the delivery's
platform_message_id); In-Reply-To is the latest email of the thread (ours
or the user's last, `Client.last_inbound_ref`) and References lists the
thread's latest ids. Reply-To is reply+<token>@<replyDomain>, the token
being the client's `reply_token` (made with its first email): a reply to it
joins that conversation. The From address can be forged, so the engine
never lets an address alone join a proven conversation
(`sender_verified = False`, messaging.services.inbound).

Inbound: bounces fail the delivery they answer (by the returned message's
Message-ID), automatic answers are dropped; neither becomes a user message.
A reply's text is cut above its quoted history and signature
(mail_parsing.split_reply); its files are stored like images. The
duplicate key is the email's Message-ID.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import smtplib
import socket
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.http.request import RawPostDataException
from django.template.loader import render_to_string

from messaging import jsonbody
from messaging.integrations import fallback, mail_parsing
from messaging.integrations.base import (
    Capabilities,
    Connected,
    Field,
    InboundEvent,
    InboundRefused,
    Integration,
    Limits,
    Media,
    PlatformError,
    RawEvent,
    api_base,
    http_call,
    response_object,
)
from messaging.models import Client, Delivery

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Parley-Secret"
MAIL_MAX_BYTES = 10 * 1024 * 1024  # one inbound email, attachments included
REPLAY_SECONDS = 5 * 60  # Mailgun's signed timestamp may be this far from now
REFERENCES_MAX = 10  # ids in one References header
TOKEN = re.compile(r"reply\+([0-9a-f]{20})@", re.I)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)


@dataclass
class Outgoing:
    """One email as both transports send it."""

    to: str
    subject: str
    text: str
    html: str
    from_header: str
    reply_to: str
    message_id: str
    thread: dict = field(default_factory=dict)  # In-Reply-To, References


def _address(value: str, name: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise PlatformError(f"{name} must be an email address.", permanent=True, code="bad_credentials")
    return value


def new_reply_token() -> str:
    return secrets.token_hex(10)


class EmailChannel(Integration):
    """What both transports share: rendering, threading, reading mail."""

    capabilities = Capabilities(push=True, numbered_replies=True)
    limits = Limits(text=100_000, actions=20, items=20, action_text=0, payload_bytes=0)
    sender_verified = False
    confirms_by_link = True

    # Addresses.

    def from_address(self) -> str:
        return self.credentials.get("fromAddress", "")

    def from_header(self, app_name: str) -> str:
        return formataddr((self.credentials.get("fromName") or app_name, self.from_address()))

    def reply_domain(self) -> str:
        return self.credentials.get("replyDomain") or self.from_address().rpartition("@")[2]

    def reply_token(self, client) -> str:
        """The client's Reply-To token, made (once) with its first email."""
        if not client.reply_token:
            Client.objects.filter(pk=client.pk, reply_token="").update(reply_token=new_reply_token())
            client.reply_token = Client.objects.filter(pk=client.pk).values_list("reply_token", flat=True).first()
        return client.reply_token

    # Threading.

    def thread_headers(self, client) -> dict:
        """In-Reply-To and References from the thread's latest emails: ours
        to this client (their deliveries' Message-IDs) and the user's last."""
        sent = list(Delivery.objects.filter(client_id=client.pk, sent_at__isnull=False)
                    .filter(platform_message_id__startswith="<")
                    .order_by("-sent_at").values_list("sent_at", "platform_message_id")[:REFERENCES_MAX])
        thread = [(at, ref) for at, ref in sent]
        if client.last_inbound_ref.startswith("<") and client.last_inbound_at is not None:
            thread.append((client.last_inbound_at, client.last_inbound_ref))
        ids = [ref for _, ref in sorted(thread)][-REFERENCES_MAX:]
        return {"In-Reply-To": ids[-1], "References": " ".join(ids)} if ids else {}

    # Rendering.

    def _context(self, message, app_name: str) -> dict:
        links = [a for a in message.actions or [] if a.get("type") in ("link", "webview", "buy") and a.get("uri")]
        notes = [f"{app_name} has requested a location"
                 for a in message.actions or [] if a.get("type") == "locationRequest"]
        items = []
        if message.type in ("carousel", "list"):
            for item in message.items or []:
                items.append({**item, "links": [a for a in item.get("actions") or []
                                                if a.get("type") in ("link", "webview", "buy") and a.get("uri")]})
        replies = [a.get("text", "") for a in message.actions or [] if a.get("type") == "reply"]
        return {"message": message, "links": links, "notes": notes, "items": items, "replies": replies,
                "reply_prompt": fallback.REPLY_PROMPT, "footer": f"Reply to this email to answer {app_name}."}

    def render(self, message, subject: str) -> tuple[str, str]:
        """The message as (text, html), from the module's templates."""
        app_name = message.app.name
        context = self._context(message, app_name)
        text = render_to_string("messaging/email/message.txt", {
            "text": fallback.render_text(message, app_name, numbered_replies=True),
            "footer": context["footer"]}).strip() + "\n"
        html = render_to_string("messaging/email/message.html", {**context, "subject": subject})
        return text, html

    def compose(self, delivery) -> Outgoing:
        message, client = delivery.message, delivery.client
        app_name = message.app.name
        thread = self.thread_headers(client)
        subject = f"Re: {app_name}" if thread else app_name
        text, html = self.render(message, subject)
        return Outgoing(to=client.external_id, subject=subject, text=text, html=html,
                        from_header=self.from_header(app_name),
                        reply_to=f"reply+{self.reply_token(client)}@{self.reply_domain()}",
                        message_id=make_msgid("parley", domain=self.reply_domain()), thread=thread)

    def send(self, delivery) -> str:
        if not self.from_address():
            raise PlatformError("The integration has no From address.", permanent=True, code="no_integration")
        outgoing = self.compose(delivery)
        return self.transmit(outgoing) or outgoing.message_id

    def send_confirmation(self, client, app_name: str, url: str) -> str:
        """The email a pending link waits for: the signed link confirms it."""
        subject = f"{app_name}: confirm your email address"
        context = {"app_name": app_name, "address": client.external_id, "url": url, "subject": subject}
        outgoing = Outgoing(
            to=client.external_id, subject=subject,
            text=render_to_string("messaging/email/confirm.txt", context).strip() + "\n",
            html=render_to_string("messaging/email/confirm.html", context),
            from_header=self.from_header(app_name), reply_to=self.from_address(),
            message_id=make_msgid("parley", domain=self.reply_domain()))
        return self.transmit(outgoing) or outgoing.message_id

    def transmit(self, outgoing: Outgoing) -> str:
        """Hand the email to the transport; the id it was given, or ""."""
        raise NotImplementedError

    # Reading mail (in the worker).

    def parse(self, payload: dict) -> list[InboundEvent]:
        if "mime" in payload:
            message = mail_parsing.read(base64.b64decode(payload["mime"]))
            return self.events_of(message, extra_recipients=[payload.get("recipient", "")])
        return self.parse_fields(payload)

    def parse_fields(self, payload: dict) -> list[InboundEvent]:
        return []

    def events_of(self, message, *, text: str | None = None, files: list[dict] | None = None,
                  extra_recipients=()) -> list[InboundEvent]:
        """The email as events: a bounce as the failed delivery it answers,
        an automatic answer as nothing, a reply as the user's message (its
        text cut from the quoted history) and one more per further file."""
        sender, mid = mail_parsing.sender_address(message), mail_parsing.message_id(message)
        kind = mail_parsing.kind(message)
        if kind == "bounce":
            return self._bounce(message, sender)
        if kind == "auto":
            logger.info("integration %s: automatic answer %s from %s ignored",
                        getattr(self.integration, "id", "-"), mid, sender)
            return []
        recipients = mail_parsing.recipients(message) + [r.lower() for r in extra_recipients if r]
        token = next((m.group(1).lower() for m in map(TOKEN.search, recipients) if m), "")
        if text is None:
            text = mail_parsing.split_reply(mail_parsing.body_text(message))
        files = mail_parsing.attachments(message) if files is None else files
        # A NUL byte in a mail body (legal in 8-bit MIME) cannot be stored as text.
        text = text.replace("\x00", "")
        base = {"replyToken": token, "displayName": mail_parsing.sender_name(message).replace("\x00", "")}
        media = [Media(content=f["content"], content_type=f["contentType"], filename=f["filename"])
                 for f in files]
        first = {**base, "text": text, "platformMessageId": mid}
        if media:
            first["media"] = media[0]
        # Further files follow as messages of their own, without the id: the
        # user's last email stays the one the next answer threads to.
        return [InboundEvent("message", sender, first)] + [
            InboundEvent("message", sender, {**base, "media": file}) for file in media[1:]]

    def _bounce(self, message, sender: str) -> list[InboundEvent]:
        answered = mail_parsing.bounced_id(message)
        if not answered:
            logger.info("integration %s: a bounce naming no message of ours ignored",
                        getattr(self.integration, "id", "-"))
            return []
        failed = mail_parsing.header(message, "X-Failed-Recipients").split(",")[0].strip().lower()
        return [InboundEvent("delivery", failed or sender, {
            "platformMessageId": answered, "state": "failed",
            "error": {"code": "bounced", "message": mail_parsing.bounce_reason(message)}})]

    @staticmethod
    def raw_event(raw: bytes, recipient: str = "") -> RawEvent:
        """One raw email as the event stored for the worker (key: its
        Message-ID, or the hash of the bytes for a message without one);
        InboundRefused (400) when it is not an email."""
        try:
            message = mail_parsing.read(raw)
        except mail_parsing.MailError as error:
            raise InboundRefused(str(error), status=400)
        key = mail_parsing.message_id(message) or "sha256:" + hashlib.sha256(raw).hexdigest()
        payload = {"mime": base64.b64encode(raw).decode()}
        if recipient:
            payload["recipient"] = recipient
        return RawEvent(key=key, payload=payload)


# SMTP (Django's email backend).

def _smtp_error(error: Exception) -> PlatformError:
    """An smtplib / socket failure as the engine's kind of error: a refused
    recipient or sender, bad credentials and 5xx answers are permanent;
    connection failures, timeouts and 4xx answers are retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            return PlatformError(f"The mail server deferred the recipient: {error.recipients}", permanent=False)
        return PlatformError(f"The mail server refused the recipient: {error.recipients}", permanent=True,
                             code="rejected")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return PlatformError(f"The mail server refused the login ({error.smtp_code})", permanent=True,
                             code="bad_credentials")
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return PlatformError(f"The mail server could not be reached: {error}", permanent=False, code="unreachable")
    if isinstance(error, smtplib.SMTPResponseException):
        permanent = error.smtp_code >= 500
        return PlatformError(f"The mail server answered {error.smtp_code}: {error.smtp_error!r}"[:300],
                             permanent=permanent, status=error.smtp_code)
    if isinstance(error, socket.timeout | TimeoutError):
        return PlatformError("The mail server timed out", permanent=False, code="timeout")
    return PlatformError(f"The mail server could not be reached: {type(error).__name__}", permanent=False,
                         code="unreachable")


def _secret_given(request) -> str:
    given = request.headers.get(SECRET_HEADER, "")
    auth = request.headers.get("Authorization", "")
    if not given and auth.startswith("Basic "):
        try:
            given = base64.b64decode(auth[6:], validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            given = ""
    return given


class Email(EmailChannel):
    type = "email"
    label = "Email"
    secret_label = "Inbound secret"
    setup_hint = (f"Forward each email to the inbound URL as one POST with Content-Type: message/rfc822 and this "
                  f"secret in an {SECRET_HEADER} header (or as the basic-auth password), or pipe it into "
                  "manage.py receive_email <integration id>.")
    fields = (
        Field("fromAddress", "From address", help="The address emails come from, e.g. support@example.com."),
        Field("fromName", "From name", required=False, free_text=True, help="The sender's name; the app's name when empty."),
        Field("replyDomain", "Reply domain", required=False,
              help="Replies go to reply+<token>@ this domain, whose mail must reach the inbound URL "
                   "(defaults to the From address's domain)."),
    )

    def check(self, credentials: dict) -> Connected:
        """Nothing to call: the mail server is the operator's (EMAIL_*).
        The addresses are checked."""
        address = _address(str(credentials.get("fromAddress") or ""), "fromAddress")
        domain = credentials.get("replyDomain") or address.rpartition("@")[2]
        if not _DOMAIN.match(domain):
            raise PlatformError("replyDomain must be a domain name.", permanent=True, code="bad_credentials")
        return Connected(display_name=credentials.get("fromName") or address,
                         details={"fromAddress": address, "replyDomain": domain})

    def transmit(self, outgoing: Outgoing) -> str:
        mail = EmailMultiAlternatives(outgoing.subject, outgoing.text, outgoing.from_header, [outgoing.to],
                                      reply_to=[outgoing.reply_to],
                                      headers={"Message-ID": outgoing.message_id, **outgoing.thread})
        mail.attach_alternative(outgoing.html, "text/html")
        try:
            mail.send()
        except (smtplib.SMTPException, OSError) as error:
            raise _smtp_error(error)
        return outgoing.message_id

    def verify(self, request) -> list[RawEvent]:
        secret = self.integration.webhook_secret if self.integration is not None else ""
        if not secret or not hmac.compare_digest(_secret_given(request).encode(), secret.encode()):
            raise InboundRefused(f"The {SECRET_HEADER} header (or basic auth password) is missing or wrong.")
        raw = request.read(MAIL_MAX_BYTES + 1)
        if len(raw) > MAIL_MAX_BYTES:
            raise InboundRefused(f"The email is over {MAIL_MAX_BYTES} bytes.", status=413)
        if not raw.strip():
            raise InboundRefused("The body is empty.", status=400)
        if request.content_type != "message/rfc822":
            raise InboundRefused("The body must be one email, sent as Content-Type: message/rfc822.", status=415)
        return [self.raw_event(raw)]


# Mailgun.

def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def _mailgun_explain(response) -> PlatformError | None:
    """Mailgun's error body {"message": ...} (a 401 answers plain "Forbidden")."""
    if response.status_code == 401:
        return PlatformError("Mailgun refused the API key (401)", permanent=True, code="bad_credentials")
    if response.status_code == 429:
        return None
    reason = str(response_object(response).get("message") or response.text[:300])
    code = "not_found" if response.status_code == 404 else "rejected"
    return PlatformError(f"Mailgun refused the call ({response.status_code}): {reason}", permanent=True, code=code)


class Mailgun(EmailChannel):
    type = "mailgun"
    label = "Mailgun"
    setup_hint = ('In Mailgun, create a route: expression match_recipient(".*@<your domain>"), action '
                  'forward("<this URL>"). Its posts are checked with the webhook signing key.')
    fields = (
        Field("apiKey", "API key", secret=True, help="Mailgun's private API key (API Security page)."),
        Field("domain", "Domain", help="The sending domain set up in Mailgun, e.g. mg.example.com."),
        Field("incomingAddress", "Incoming address",
              help="The address users write to; a Mailgun route for its domain forwards to the inbound URL."),
        Field("fromAddress", "From address", required=False,
              help="The From address when it must differ from the incoming address."),
        Field("webhookSigningKey", "Webhook signing key", secret=True, required=False,
              help="Mailgun's HTTP webhook signing key, which signs route posts (the API key when empty)."),
    )

    def from_address(self) -> str:
        return self.credentials.get("fromAddress") or self.credentials.get("incomingAddress", "")

    def reply_domain(self) -> str:
        return self.credentials.get("incomingAddress", "").rpartition("@")[2] or self.credentials.get("domain", "")

    def _url(self, path: str) -> str:
        return f"{api_base(self.type)}/v3/{path}"

    def _call(self, method: str, path: str, credentials: dict | None = None, **kwargs) -> dict:
        credentials = credentials if credentials is not None else self.credentials
        response = http_call(method, self._url(path), auth=("api", credentials.get("apiKey", "")),
                             explain=_mailgun_explain, **kwargs)
        body = response_object(response)
        if not body:
            raise PlatformError(f"Mailgun answered {path} without a JSON object", permanent=True,
                                status=response.status_code, code="bad_answer")
        return body

    def check(self, credentials: dict) -> Connected:
        domain = str(credentials.get("domain") or "")
        if not _DOMAIN.match(domain):
            raise PlatformError("domain must be a domain name.", permanent=True, code="bad_credentials")
        incoming = _address(str(credentials.get("incomingAddress") or ""), "incomingAddress")
        if credentials.get("fromAddress"):
            _address(credentials["fromAddress"], "fromAddress")
        found = self._call("GET", f"domains/{domain}", credentials).get("domain") or {}
        if not isinstance(found, dict) or not found.get("name"):
            raise PlatformError("Mailgun answered the domain without its name", permanent=True, code="bad_answer")
        return Connected(display_name=incoming, details={
            "domain": found["name"], "incomingAddress": incoming, "domainState": str(found.get("state") or "")})

    def transmit(self, outgoing: Outgoing) -> str:
        data = {"from": outgoing.from_header, "to": outgoing.to, "subject": outgoing.subject,
                "text": outgoing.text, "html": outgoing.html, "h:Reply-To": outgoing.reply_to,
                "h:Message-Id": outgoing.message_id}
        data.update({f"h:{name}": value for name, value in outgoing.thread.items()})
        answer = self._call("POST", f"{self.credentials.get('domain', '')}/messages", data=data)
        if not answer.get("id"):
            raise PlatformError("Mailgun answered the message without its id", permanent=True, code="bad_answer")
        return str(answer["id"])

    # Inbound.

    def _form(self, request) -> tuple[dict, list]:
        """The post's fields (each string checked as jsonbody checks JSON
        strings: they are stored as JSON) and its attachment files."""
        try:
            fields = {k: request.POST.get(k) for k in request.POST}
            files = [f for name, f in request.FILES.items() if name.startswith("attachment")]
        except RequestDataTooBig:
            raise InboundRefused("The post is too large.", status=413)
        except (RawPostDataException, ValueError) as error:
            raise InboundRefused(f"The post cannot be read: {type(error).__name__}", status=400)
        for key, value in fields.items():
            fault = jsonbody.bad_string(key) or jsonbody.bad_string(value)
            if fault:
                raise InboundRefused(f"The field {key[:40]!r} contains {fault}.", status=400)
        return fields, files

    def _signed(self, fields: dict) -> None:
        key = self.credentials.get("webhookSigningKey") or self.credentials.get("apiKey", "")
        timestamp, token = str(fields.get("timestamp") or ""), str(fields.get("token") or "")
        given = str(fields.get("signature") or "")
        if not (key and timestamp and token and given):
            raise InboundRefused("The post is not signed (timestamp, token, signature).")
        if not hmac.compare_digest(given.encode(), mailgun_signature(key, timestamp, token).encode()):
            raise InboundRefused("The Mailgun signature is wrong.")
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            raise InboundRefused("The signed timestamp is not a number.")
        if age > REPLAY_SECONDS:
            raise InboundRefused("The signed timestamp is more than five minutes away: a replay is refused.")

    def verify(self, request) -> list[RawEvent]:
        fields, files = self._form(request)
        self._signed(fields)
        if fields.get("body-mime"):
            return [self.raw_event(fields["body-mime"].encode(), fields.get("recipient", ""))]
        sender = fields.get("sender") or fields.get("from") or ""
        if "@" not in sender:
            raise InboundRefused("The post has no sender.", status=400)
        kept = {k: v for k, v in fields.items() if k not in ("signature", "token", "timestamp")}
        stored = []
        for upload in files[:mail_parsing.ATTACHMENTS_MAX]:
            content = upload.read(MAIL_MAX_BYTES + 1)
            if len(content) > MAIL_MAX_BYTES:
                raise InboundRefused("An attachment is too large.", status=413)
            stored.append({"content": base64.b64encode(content).decode(),
                           "contentType": upload.content_type or "application/octet-stream",
                           "filename": upload.name or ""})
        key = fields.get("Message-Id") or "sha256:" + hashlib.sha256(
            json.dumps(kept, sort_keys=True).encode()).hexdigest()
        return [RawEvent(key=key, payload={"fields": kept, "files": stored})]

    def parse_fields(self, payload: dict) -> list[InboundEvent]:
        """Mailgun's parsed post as a message with its headers (from
        `message-headers`), then read like any email. Its `stripped-text`
        (Mailgun's own reply splitter) is the text when given."""
        fields = payload.get("fields") or {}
        message = EmailMessage()
        try:
            headers = json.loads(fields.get("message-headers") or "[]")
        except ValueError:
            headers = []
        for pair in headers if isinstance(headers, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and pair[0].lower() not in ("content-type",):
                try:
                    message[str(pair[0])] = str(pair[1])
                except (ValueError, TypeError):
                    continue
        for name, value in (("From", fields.get("from") or fields.get("sender")),
                            ("Message-ID", fields.get("Message-Id")), ("In-Reply-To", fields.get("In-Reply-To")),
                            ("Subject", fields.get("subject"))):
            if value and name not in message:
                message[name] = value
        text = fields.get("stripped-text")
        if text is None:
            text = mail_parsing.split_reply(fields.get("body-plain") or "")
        files = [{"content": base64.b64decode(f["content"]), "contentType": f["contentType"],
                  "filename": f["filename"]} for f in payload.get("files") or []]
        return self.events_of(message, text=text, files=files, extra_recipients=[fields.get("recipient", "")])
