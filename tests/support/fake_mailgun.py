"""A fake Mailgun HTTP API on 127.0.0.1, on FakePlatform's `handler`, checking
what Mailgun checks and answering its documented bodies:

- every call under `/v3/` with HTTP basic auth `api:<API key>`; else 401
  with Mailgun's plain body "Forbidden";
- `GET /v3/domains/{domain}`: the domain (`{"domain": {"name", "state", ...},
  "receiving_dns_records", "sending_dns_records"}`), 404 `{"message":
  "Domain not found"}` for a domain the account does not have;
- `POST /v3/{domain}/messages`, form-encoded: `from` ("'from' parameter is
  missing"), `to` ("'to' parameter is missing"), `subject` and one of
  `text` / `html` required, addresses well-formed ("to parameter is not a
  valid address"), 400 `{"message": ...}` otherwise; 200 `{"id":
  "<message id>", "message": "Queued. Thank you."}`, the id being the
  `h:Message-Id` given (Mailgun keeps a custom Message-Id) or one of its own.

Mailgun's side of a route too: the parsed fields it posts for an incoming
email (`route_post`) and its signature, hex HMAC-SHA256 of timestamp +
token with the webhook signing key (written here from Mailgun's "Securing
Webhooks", apart from Parley's own code).
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid

from tests.support.fake_platform import FakePlatform

ADDRESS = re.compile(r"^(?:[^<>]*<)?[^@<>\s]+@[^@<>\s]+\.[^@<>\s]+>?$")


def _basic_auth(record) -> tuple[str, str] | None:
    value = next((v for k, v in record["headers"].items() if k.lower() == "authorization"), "")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def mailgun_error(status: int, message: str):
    return status, {}, {"message": message}


class FakeMailgun:
    def __init__(self):
        self.platform = FakePlatform(handler=self.handle)
        self.url = self.platform.url
        self.reset()

    def reset(self):
        self.api_key = "key-" + uuid.uuid4().hex
        self.signing_key = uuid.uuid4().hex
        self.domain = "mg.tacos.example"
        self.domains = {self.domain: "active"}
        self.platform.requests.clear()

    def close(self):
        self.platform.close()

    # For tests.

    def credentials(self, **changes) -> dict:
        return {"apiKey": self.api_key, "domain": self.domain, "incomingAddress": f"support@{self.domain}",
                "webhookSigningKey": self.signing_key, **changes}

    def sent(self) -> list[dict]:
        """The form bodies of the messages Mailgun accepted, in order."""
        return [r["body"] for r in self.platform.received(f"/v3/{self.domain}/messages") if r["status"] == 200]

    def sign(self, timestamp: str, token: str, key: str | None = None) -> str:
        return hmac.new((key or self.signing_key).encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()

    def signed(self, fields: dict, *, at: float | None = None, key: str | None = None) -> dict:
        timestamp, token = str(int(at if at is not None else time.time())), secrets.token_hex(25)
        return {**fields, "timestamp": timestamp, "token": token, "signature": self.sign(timestamp, token, key)}

    def route_post(self, text: str, *, sender: str = "maria@example.org", recipient: str = "",
                   message_id: str = "", in_reply_to: str = "", stripped: str | None = None, **extra) -> dict:
        """The parsed fields a route's forward() posts for an incoming email, signed."""
        message_id = message_id or f"<{uuid.uuid4().hex}@mail.example.org>"
        recipient = recipient or f"support@{self.domain}"
        headers = [["From", f"Maria Lopez <{sender}>"], ["To", recipient], ["Subject", "Re: Tacos Inc"],
                   ["Message-Id", message_id]]
        if in_reply_to:
            headers += [["In-Reply-To", in_reply_to], ["References", in_reply_to]]
        fields = {"recipient": recipient, "sender": sender, "from": f"Maria Lopez <{sender}>",
                  "subject": "Re: Tacos Inc", "body-plain": text, "Message-Id": message_id,
                  "message-headers": json.dumps(headers), "attachment-count": "0", **extra}
        if in_reply_to:
            fields["In-Reply-To"] = in_reply_to
        if stripped is not None:
            fields["stripped-text"] = stripped
        return self.signed(fields)

    # The API.

    def handle(self, record):
        auth = _basic_auth(record)
        if auth != ("api", self.api_key):
            return 401, {"Content-Type": "text/plain"}, b"Forbidden"
        path, method = record["path"], record["method"]
        found = re.fullmatch(r"/v3/domains/([^/]+)", path)
        if found and method == "GET":
            return self._domain(found.group(1))
        found = re.fullmatch(r"/v3/([^/]+)/messages", path)
        if found and method == "POST":
            return self._message(found.group(1), record["body"])
        return mailgun_error(404, "Not Found")

    def _domain(self, name: str):
        if name not in self.domains:
            return mailgun_error(404, "Domain not found")
        return 200, {}, {"domain": {"name": name, "state": self.domains[name], "type": "custom",
                                    "spam_action": "disabled", "wildcard": False},
                         "receiving_dns_records": [], "sending_dns_records": []}

    def _message(self, domain: str, body):
        if domain not in self.domains:
            return mailgun_error(404, "Domain not found")
        if not isinstance(body, dict):
            return mailgun_error(400, "'from' parameter is missing")
        for name in ("from", "to", "subject"):
            if not body.get(name):
                return mailgun_error(400, f"'{name}' parameter is missing")
        if not (body.get("text") or body.get("html")):
            return mailgun_error(400, "Need at least one of 'text', 'html' or 'template' parameters specified")
        if not ADDRESS.match(body["from"]):
            return mailgun_error(400, "from parameter is not a valid address. please check documentation")
        if not ADDRESS.match(body["to"]):
            return mailgun_error(400, "to parameter is not a valid address. please check documentation")
        message_id = body.get("h:Message-Id") or f"<{time.strftime('%Y%m%d%H%M%S')}.{uuid.uuid4().hex}@{domain}>"
        return 200, {}, {"id": message_id, "message": "Queued. Thank you."}
