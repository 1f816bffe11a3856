"""Twilio Programmable Messaging: SMS and MMS from one Twilio phone number.

Calls go to `{PARLEY_TWILIO_API_BASE}/2010-04-01/Accounts/{AccountSid}/...`
with HTTP basic auth (AccountSid:AuthToken) and form-encoded bodies; Twilio
answers JSON, its errors as `{"code", "message", "more_info", "status"}`.

Sending: text and images (MediaUrl) natively; every other message type, and
the buttons of any message, as the shared text fallback (fallback.py), with
`reply` actions as numbered options. A body over Twilio's 1600-character
limit goes as several messages; the delivery follows the first one (its sid
is returned, and only it carries the StatusCallback).

Inbound: Twilio posts incoming messages and status callbacks to the URL
registered as the number's SmsUrl (and each message's StatusCallback), both
signed in `X-Twilio-Signature`. The answer is empty TwiML: Parley replies
through the API, never in the webhook's answer.

Opt-out words: Twilio itself blocks a number that texts one of its opt-out
words (STOPWORDS, whole message, any case), refusing later sends with 21610,
until the number texts an opt-in word (START, YES, UNSTOP). `parse` reports
the opt-out words as "opt_out" and START/UNSTOP as "opt_in". YES is also the
word that confirms a pending phone-number link, so it stays a "message"
(text "YES"), marked `optIn: True` in its data: the engine reads it as the
link confirmation where a link is pending, and as the opt-in Twilio has
already applied on its side wherever the client was opted out.
"""

import base64
import hashlib
import hmac
import logging
import mimetypes
import re

from messaging.integrations.base import (
    Capabilities,
    Connected,
    Field,
    InboundEvent,
    InboundRefused,
    Integration,
    Limits,
    PlatformError,
    RawEvent,
    api_base,
    fetch_media,
    form_body,
    http_call,
    response_object,
)
from messaging.integrations.fallback import render_caption, render_text, split_text

logger = logging.getLogger(__name__)

BODY_LIMIT = 1600  # Twilio's limit on one message's Body (error 21617)
# Twilio's default opt-out and opt-in words for long codes and toll-free
# numbers (its "Advanced Opt-Out" guide and support article on STOP filtering).
STOPWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
STARTWORDS = frozenset({"START", "UNSTOP"})
YES = "YES"
MEDIA_PER_MESSAGE = 10  # Twilio forwards at most 10 media files of one MMS

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
PHONE_NUMBER_SID = re.compile(r"PN[0-9a-fA-F]{32}")

# Status callback MessageStatus -> delivery state. queued, sending,
# accepted, scheduled and canceled carry nothing the engine records (a
# delivery is "sent" once Twilio accepted the call), so they are taken and
# dropped.
DELIVERY_STATES = {"sent": "sent", "delivered": "delivered", "undelivered": "failed", "failed": "failed"}
READ = "read"  # reported by Twilio for WhatsApp senders

# What the ErrorCode of an undelivered/failed status callback means
# (Twilio's error dictionary).
ERROR_MEANINGS = {
    "21610": "The recipient has opted out (replied STOP)",
    "21211": "Invalid 'To' phone number",
    "21408": "Permission to send an SMS has not been enabled for the region",
    "21612": "The 'To' phone number is not currently reachable",
    "21614": "'To' number is not a valid mobile number",
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "30009": "Missing segment",
    "30010": "Message price exceeds max price",
}


def signature(auth_token: str, url: str, params: dict) -> str:
    """X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the auth token,
    over the URL Twilio called followed by every POST parameter, sorted by
    name, as name + value."""
    signed = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def _explain(response) -> PlatformError | None:
    """Twilio's error JSON as a PlatformError with the code the engine acts on
    (a 429 is left to the default: retried after Retry-After)."""
    if response.status_code == 429:
        return None
    body = response_object(response)
    if not body:
        return None
    code, text = body.get("code"), str(body.get("message") or "")
    reason = f"Twilio {code}: {text}" if code else f"Twilio refused the call ({response.status_code}): {text}"
    if code == 20003 or response.status_code == 401:
        return PlatformError("Twilio refused the Account SID and Auth Token (20003 Authenticate)",
                             permanent=True, code="bad_credentials")
    if code == 21610:
        return PlatformError(reason, permanent=True, code="opted_out")
    if code == 20404:
        return PlatformError(reason, permanent=True, code="not_found")
    return PlatformError(reason, permanent=True, code="rejected")


class Twilio(Integration):
    type = "twilio"
    label = "Twilio SMS"
    # Text and images native, carousel / list / location as text (the
    # defaults); every message arrives with a notification.
    capabilities = Capabilities(push=True, numbered_replies=True)
    limits = Limits(
        text=BODY_LIMIT,
        actions=10,  # reply options shown as numbered lines
        items=10,  # carousel / list items, as numbered blocks of text
        action_text=0,  # SMS has no buttons: no label limit of its own
        payload_bytes=0,  # payloads never travel: the engine maps the number back
    )
    fields = (
        Field("accountSid", "Account SID", help="AC followed by 32 characters, on the Twilio console's home page."),
        Field("authToken", "Auth token", secret=True, help="Beside the Account SID on the Twilio console."),
        Field("phoneNumberSid", "Phone number SID",
              help="PN followed by 32 characters: Phone Numbers > Manage > Active numbers, then the number."),
    )
    ack_body = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    ack_content_type = "text/xml"

    # Calls.

    def _call(self, method: str, path: str, credentials: dict | None = None, **kwargs) -> dict:
        """One REST call under the account, answered with a JSON object."""
        credentials = credentials if credentials is not None else self.credentials
        account_sid = credentials.get("accountSid", "")
        url = f"{api_base(self.type)}/2010-04-01/Accounts/{account_sid}{path}"
        response = http_call(method, url, auth=(account_sid, credentials.get("authToken", "")),
                             explain=_explain, **kwargs)
        body = response_object(response)
        if not body:
            # Permanent: a send Twilio may have taken is not tried again.
            raise PlatformError(f"Twilio answered {path} without a JSON object", permanent=True,
                                status=response.status_code, code="bad_answer")
        return body

    def _number_path(self, credentials: dict | None = None) -> str:
        credentials = credentials if credentials is not None else self.credentials
        return f"/IncomingPhoneNumbers/{credentials.get('phoneNumberSid', '')}.json"

    # Set-up.

    def check(self, credentials: dict) -> Connected:
        """The account and the phone number, fetched with `credentials`."""
        if not ACCOUNT_SID.fullmatch(str(credentials.get("accountSid") or "")):
            raise PlatformError("The Account SID must be AC followed by 32 hexadecimal characters.",
                                permanent=True, code="bad_credentials")
        if not credentials.get("authToken"):
            raise PlatformError("The auth token is missing.", permanent=True, code="bad_credentials")
        if not PHONE_NUMBER_SID.fullmatch(str(credentials.get("phoneNumberSid") or "")):
            raise PlatformError("The phone number SID must be PN followed by 32 hexadecimal characters.",
                                permanent=True, code="bad_credentials")
        account = self._call("GET", ".json", credentials)
        if account.get("status") not in (None, "active"):
            raise PlatformError(f"The Twilio account is {account.get('status')}.", permanent=True,
                                code="bad_credentials")
        number = self._call("GET", self._number_path(credentials), credentials)
        phone_number = str(number.get("phone_number") or "")
        if not phone_number:
            raise PlatformError("Twilio answered the phone number without its number", permanent=True,
                                code="bad_answer")
        return Connected(
            display_name=str(number.get("friendly_name") or phone_number),
            details={"accountSid": credentials["accountSid"], "phoneNumberSid": credentials["phoneNumberSid"],
                     "phoneNumber": phone_number},
        )

    def register_webhook(self, url: str) -> None:
        """Incoming messages to the number are posted to `url`."""
        self._call("POST", self._number_path(), data={"SmsUrl": url, "SmsMethod": "POST"})

    def unregister_webhook(self) -> None:
        self._call("POST", self._number_path(), data={"SmsUrl": ""})

    # Sending.

    def _send_parts(self, to: str, body: str, media_url: str = "", status_callback: str = "") -> str:
        """POST Messages.json once per part of `body`; the first part carries
        the media and the status callback. Returns the first message's sid.
        A failure after the first part raises like any other: the retry
        sends the message again from its first part."""
        from_ = (self.integration.details or {}).get("phoneNumber", "") if self.integration else ""
        if not from_:
            raise PlatformError("The integration has no phone number: test the connection to fetch it.",
                                permanent=True, code="no_integration")
        parts = split_text(body, BODY_LIMIT)
        if not parts[0] and not media_url:
            raise PlatformError("The message has nothing an SMS can carry.", permanent=True, code="rejected")
        first = ""
        for number, part in enumerate(parts):
            data = {"From": from_, "To": to}
            if part:
                data["Body"] = part
            if number == 0 and media_url:
                data["MediaUrl"] = media_url
            if number == 0 and status_callback:
                data["StatusCallback"] = status_callback
            sid = str(self._call("POST", "/Messages.json", data=data).get("sid") or "")
            if not sid:
                raise PlatformError("Twilio answered the message without its sid", permanent=True,
                                    code="bad_answer")
            first = first or sid
        return first

    def send(self, delivery) -> str:
        message = delivery.message
        app_name = message.app.name
        if message.type == "image" and message.media_url:
            body = render_caption(message, app_name, numbered_replies=True)
            media_url = message.media_url
        else:
            body = render_text(message, app_name, numbered_replies=True)
            media_url = ""
        return self._send_parts(delivery.client.external_id, body, media_url,
                                status_callback=self.integration.inbound_url)

    def send_notice(self, external_id: str, text: str) -> str:
        return self._send_parts(external_id, text)

    # Inbound.

    def verify(self, request) -> list[RawEvent]:
        """An incoming message (key: its MessageSid) or a status callback
        (key: MessageSid:MessageStatus), signed with the auth token over the
        URL registered with Twilio (the integration's inbound URL; the URL
        called when none is recorded). Status callbacks the engine has no
        use for (queued, sending...) are verified and yield no event."""
        params = form_body(request)
        auth_token = self.credentials.get("authToken", "")
        if not auth_token:
            raise InboundRefused("The integration has no auth token to check signatures with.")
        url = self.integration.inbound_url or request.build_absolute_uri()
        expected = signature(auth_token, url, params)
        if not hmac.compare_digest(request.headers.get("X-Twilio-Signature", "").encode(), expected.encode()):
            raise InboundRefused("The X-Twilio-Signature header is missing or wrong.")
        sid = params.get("MessageSid", "")
        if not sid:
            raise InboundRefused("The webhook has no MessageSid.", status=400)
        status = params.get("MessageStatus") or params.get("SmsStatus", "")
        if status == "received":
            if not params.get("From"):
                raise InboundRefused("The incoming message has no From.", status=400)
            return [RawEvent(key=sid, payload=params)]
        if status in DELIVERY_STATES or status == READ:
            return [RawEvent(key=f"{sid}:{status}", payload=params)]
        if not status:
            raise InboundRefused("The webhook has neither SmsStatus nor MessageStatus.", status=400)
        return []

    def parse(self, payload: dict) -> list[InboundEvent]:
        status = payload.get("MessageStatus") or payload.get("SmsStatus", "")
        sid = payload.get("MessageSid", "")
        if status == "received":
            return self._incoming(payload, sid)
        # A status callback is about a message to the user: `To` is theirs.
        user = payload.get("To", "")
        if status == READ:
            return [InboundEvent("read", user, {"platformMessageId": sid})]
        state = DELIVERY_STATES.get(status)
        if state is None:
            return []
        data = {"platformMessageId": sid, "state": state}
        if state == "failed":
            code = str(payload.get("ErrorCode") or "")
            data["error"] = {"code": code,
                             "message": payload.get("ErrorMessage") or ERROR_MEANINGS.get(code)
                             or f"Twilio reported the message {status}"}
        return [InboundEvent("delivery", user, data)]

    def _incoming(self, payload: dict, sid: str) -> list[InboundEvent]:
        user = payload["From"]
        text = payload.get("Body", "")
        word = text.strip().upper()
        if word in STOPWORDS:
            return [InboundEvent("opt_out", user, {"platformMessageId": sid, "text": text})]
        if word in STARTWORDS:
            return [InboundEvent("opt_in", user, {"platformMessageId": sid, "text": text})]
        media = self._media(payload)
        data = {"platformMessageId": sid, "text": text}
        if word == YES:
            data["optIn"] = True
        if media:
            data["media"] = media[0]
        events = [InboundEvent("message", user, data)] if text or media else []
        # Further files of one MMS follow as messages of their own.
        events += [InboundEvent("message", user, {"platformMessageId": f"{sid}/{number}", "media": file})
                   for number, file in enumerate(media[1:], start=1)]
        return events

    def _media(self, payload: dict) -> list:
        """The MMS's files, fetched (Twilio's media URLs are never kept).
        HTTP basic auth goes with each fetch: accounts that enforce it on
        media URLs need it, and a URL outside the API base gets none."""
        try:
            count = min(int(payload.get("NumMedia") or 0), MEDIA_PER_MESSAGE)
        except ValueError:
            count = 0
        base = api_base(self.type) + "/"
        auth = (self.credentials.get("accountSid", ""), self.credentials.get("authToken", ""))
        files = []
        for number in range(count):
            url = payload.get(f"MediaUrl{number}", "")
            if not url:
                continue
            media = fetch_media(url, **({"auth": auth} if url.startswith(base) else {}))
            declared = payload.get(f"MediaContentType{number}", "")
            if media.content_type == "application/octet-stream" and declared:
                media.content_type = declared
            extension = mimetypes.guess_extension(media.content_type) or ""
            media.filename = f"{payload.get('MessageSid', 'mms')}-{number}{extension}"
            files.append(media)
        return files
