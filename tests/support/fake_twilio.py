"""A fake Twilio REST API (Programmable Messaging) on 127.0.0.1, on
FakePlatform's `handler`, checking what Twilio checks and answering its
documented bodies:

- `/2010-04-01/Accounts/{AccountSid}...` with HTTP basic auth
  AccountSid:AuthToken, the sid in the path being the authenticated one;
  else 401 `{"code": 20003, "message": "Authenticate", ...}`;
- `GET .../Accounts/{sid}.json`: the Account resource;
- `GET` / `POST .../IncomingPhoneNumbers/{PNsid}.json`: the number, and its
  SmsUrl / SmsMethod updated; 404 code 20404 for a number it does not have;
- `POST .../Messages.json`, form-encoded: To (21604), From (21603) and one of
  Body / MediaUrl (21602) required, Body at most 1600 characters (21617),
  From one of the account's numbers (21606), To in E.164 (21211), not a
  landline (21614), not opted out (21610), URLs http(s); 201 with the
  Message resource (sid "SM..." or "MM...", status "queued");
- media of inbound MMS: `GET .../Messages/{MMsid}/Media/{MEsid}` (basic auth
  required while `media_auth` is on, as for accounts enforcing HTTP auth on
  media URLs) answers 307 to a signed storage URL under `/storage/`, which
  serves the bytes and, like S3, refuses a request that also carries an
  Authorization header.

Errors are Twilio's `{"code", "message", "more_info", "status"}`.

Twilio's side of the inbound webhooks too: the parameters it posts for an
incoming message and a status callback, and its X-Twilio-Signature
(written here from Twilio's description, apart from Parley's own code).
"""

import base64
import hashlib
import hmac
import re
import uuid

from messaging.integrations.fallback import utf16_length
from tests.support.fake_platform import FakePlatform

API = "/2010-04-01/Accounts/"
E164 = re.compile(r"\+[1-9]\d{1,14}")
BODY_LIMIT = 1600
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def twilio_signature(auth_token: str, url: str, params: dict) -> str:
    """HMAC-SHA1 with the auth token over the URL, then each parameter's
    name and value in name order; base64."""
    data = url
    for name in sorted(params):
        data += name + params[name]
    return base64.b64encode(hmac.digest(auth_token.encode(), data.encode(), hashlib.sha1)).decode()


def twilio_error(status: int, code: int, message: str):
    return status, {}, {"code": code, "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _header(record, name: str) -> str:
    for key, value in record["headers"].items():
        if key.lower() == name.lower():
            return value
    return ""


def _basic_auth(record) -> tuple[str, str] | None:
    value = _header(record, "Authorization")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class FakeTwilio:
    def __init__(self, media_auth: bool = True):
        self.media_auth = media_auth
        self.platform = FakePlatform(handler=self.handle)
        self.url = self.platform.url
        self.reset()

    def reset(self):
        """A new account with one number and no history: a fake kept for
        several tests (closing a server costs half a second) starts each
        one as if new."""
        self.account_sid = sid("AC")
        self.auth_token = uuid.uuid4().hex
        self.phone_number_sid = sid("PN")
        self.phone_number = "+15005550006"
        self.account_status = "active"
        self.numbers = {self.phone_number_sid: {
            "phone_number": self.phone_number, "friendly_name": "(500) 555-0006",
            "sms_url": "", "sms_method": "POST",
        }}
        self.opted_out: set[str] = set()
        self.landlines: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.platform.requests.clear()

    # For tests.

    def credentials(self, **changes) -> dict:
        return {"accountSid": self.account_sid, "authToken": self.auth_token,
                "phoneNumberSid": self.phone_number_sid, **changes}

    def add_media(self, content: bytes = PNG, content_type: str = "image/png") -> str:
        """The MediaUrl Twilio would post for an inbound MMS file."""
        media_sid = sid("ME")
        self.media[media_sid] = (content, content_type)
        return f"{self.url}{API}{self.account_sid}/Messages/{sid('MM')}/Media/{media_sid}"

    def sent(self) -> list[dict]:
        """The form bodies of the messages Twilio accepted, in order."""
        return [r["body"] for r in self.platform.received(f"{API}{self.account_sid}/Messages.json")
                if r["status"] == 201]

    def incoming(self, body: str = "Hello", from_: str = "+15145550100", **extra) -> dict:
        """What Twilio posts to the number's SmsUrl for an incoming SMS."""
        message_sid = sid("SM")
        return {"ToCountry": "US", "SmsMessageSid": message_sid, "NumMedia": "0", "SmsSid": message_sid,
                "SmsStatus": "received", "Body": body, "To": self.phone_number, "NumSegments": "1",
                "MessageSid": message_sid, "AccountSid": self.account_sid, "From": from_,
                "ApiVersion": "2010-04-01", **extra}

    def status_callback(self, message_sid: str, status: str, to: str = "+15145550100", **extra) -> dict:
        """What Twilio posts to a message's StatusCallback."""
        return {"SmsSid": message_sid, "SmsStatus": status, "MessageStatus": status, "To": to,
                "MessageSid": message_sid, "AccountSid": self.account_sid, "From": self.phone_number,
                "ApiVersion": "2010-04-01", **extra}

    def sign(self, url: str, params: dict, auth_token: str | None = None) -> str:
        return twilio_signature(auth_token or self.auth_token, url, params)

    def fail_next(self, *args, **kwargs):
        self.platform.fail_next(*args, **kwargs)

    def close(self):
        self.platform.close()

    # The API.

    def handle(self, record):
        path = record["path"]
        if path.startswith("/storage/"):
            return self._storage(record, path.removeprefix("/storage/"))
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+?)(\.json|/.+)", path)
        if match is None:
            return twilio_error(404, 20404, f"The requested resource {path} was not found")
        account, rest = match.groups()
        media = re.fullmatch(r"/Messages/MM\w+/Media/(ME\w+)", rest)
        if media is not None and not self.media_auth:
            return self._media(media.group(1))
        if _basic_auth(record) != (self.account_sid, self.auth_token) or account != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        if media is not None:
            return self._media(media.group(1))
        method = record["method"]
        # Twilio reads form-encoded parameters only (a JSON body has no To).
        is_form = _header(record, "Content-Type").startswith("application/x-www-form-urlencoded")
        form = record["body"] if is_form and isinstance(record["body"], dict) else {}
        if rest == ".json" and method == "GET":
            return 200, {}, self._account()
        number = re.fullmatch(r"/IncomingPhoneNumbers/([^/]+)\.json", rest)
        if number is not None and method in ("GET", "POST"):
            return self._number(path, number.group(1), form if method == "POST" else None)
        if rest == "/Messages.json" and method == "POST":
            return self._create_message(form)
        return twilio_error(404, 20404, f"The requested resource {path} was not found")

    def _account(self) -> dict:
        return {"sid": self.account_sid, "friendly_name": "My first Twilio account", "status": self.account_status,
                "type": "Full", "owner_account_sid": self.account_sid, "auth_token": self.auth_token,
                "date_created": "Mon, 02 Nov 2026 10:00:00 +0000", "uri": f"{API}{self.account_sid}.json"}

    def _number(self, path: str, number_sid: str, update: dict | None):
        number = self.numbers.get(number_sid)
        if number is None:
            return twilio_error(404, 20404, f"The requested resource {path} was not found")
        if update is not None:
            if "SmsUrl" in update:
                if update["SmsUrl"] and not _is_url(update["SmsUrl"]):
                    return twilio_error(400, 21502, "SmsUrl is not valid")
                number["sms_url"] = update["SmsUrl"]
            if "SmsMethod" in update:
                if update["SmsMethod"] not in ("GET", "POST"):
                    return twilio_error(400, 21503, "SmsMethod must be GET or POST")
                number["sms_method"] = update["SmsMethod"]
        return 200, {}, {"sid": number_sid, "account_sid": self.account_sid, **number,
                         "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
                         "uri": path}

    def _create_message(self, form: dict):
        to, from_ = form.get("To", ""), form.get("From", "")
        body, media_url = form.get("Body", ""), form.get("MediaUrl", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not from_:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not media_url:
            return twilio_error(400, 21602, "Message body is required.")
        if utf16_length(body) > BODY_LIMIT:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if from_ not in {n["phone_number"] for n in self.numbers.values()}:
            return twilio_error(400, 21606, f"The From phone number {from_} is not a valid, SMS-capable "
                                            "inbound phone number or short code for your account.")
        if not E164.fullmatch(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.landlines:
            return twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if to in self.opted_out:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        if media_url and not _is_url(media_url):
            return twilio_error(400, 21620, "Invalid media URL(s)")
        if form.get("StatusCallback") and not _is_url(form["StatusCallback"]):
            return twilio_error(400, 21609, "Invalid StatusCallback url")
        message_sid = sid("MM" if media_url else "SM")
        return 201, {}, {
            "sid": message_sid, "account_sid": self.account_sid, "to": to, "from": from_, "body": body,
            "status": "queued", "num_segments": "1",
            "num_media": "1" if media_url else "0", "direction": "outbound-api", "api_version": "2010-04-01",
            "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
            "date_created": "Mon, 02 Nov 2026 10:00:00 +0000", "date_sent": None,
            "uri": f"{API}{self.account_sid}/Messages/{message_sid}.json",
        }

    def _media(self, media_sid: str):
        if media_sid not in self.media:
            return twilio_error(404, 20404, f"The requested resource {media_sid} was not found")
        return 307, {"Location": f"{self.url}/storage/{media_sid}?X-Amz-Signature={uuid.uuid4().hex}"}, {}

    def _storage(self, record, media_sid: str):
        if _header(record, "Authorization"):
            return 400, {}, {"Code": "InvalidArgument", "Message": "Only one auth mechanism allowed"}
        if media_sid not in self.media or "X-Amz-Signature" not in record["query"]:
            return 403, {}, {"Code": "AccessDenied", "Message": "Access Denied"}
        content, content_type = self.media[media_sid]
        return 200, {"Content-Type": content_type}, content
