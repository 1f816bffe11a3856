"""What the fake Messenger and the fake WhatsApp share: Meta's Graph API on
127.0.0.1 (tests/support/fake_messenger.py, fake_whatsapp.py subclass it).

`FakeGraph` serves `/v<version>/<path>` and checks what every Graph API call
gets checked for before the product's own `route` runs:
- the version in the path is the one the test settings set
  (PARLEY_GRAPH_API_VERSION), else 400 "Unknown path components";
- an access token, as `Authorization: Bearer <token>` (or `OAuth <token>`) or the
  `access_token` query parameter: none is 400 code 2500 ("An active access
  token must be used"), an unknown one 400 code 190 (OAuthException);
- `appsecret_proof`, when given, is HMAC-SHA256 of the token with the app
  secret the token belongs to, else 400 code 100 ("Invalid appsecret_proof").

Refusals are Meta's documented body: `{"error": {"message", "type", "code",
"error_subcode"?, "fbtrace_id"}}`. The helpers at the end post to Parley's
inbound URL as Meta does: the GET handshake and signed event bodies.
"""

import hashlib
import hmac
import json

import requests

from tests.support.fake_platform import FakePlatform

VERSION = "23.0"


class GraphError(Exception):
    def __init__(self, status: int, code: int, message: str, *, type_: str = "OAuthException",
                 subcode: int | None = None, data: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.type, self.subcode = status, code, message, type_, subcode
        # error_data, where the product gives one (WhatsApp's {"messaging_product", "details"}).
        self.data = data

    def answer(self, counter: int):
        error = {"message": self.message, "type": self.type, "code": self.code, "fbtrace_id": f"Afake{counter}"}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.data is not None:
            error["error_data"] = self.data
        return self.status, {}, {"error": error}


def proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


class FakeGraph(FakePlatform):
    """Subclasses keep `tokens` (token -> the app secret it belongs to) and
    implement `route(method, parts, record, token)`, which returns the JSON
    answer or raises GraphError."""

    def __init__(self, version: str = VERSION):
        super().__init__(handler=self._graph)
        self.version = version
        self.tokens: dict[str, str] = {}
        self.calls = 0

    def _graph(self, record):
        self.calls += 1
        try:
            parts = [p for p in record["path"].split("/") if p]
            if not parts or parts[0] != f"v{self.version}":
                raise GraphError(400, 2500, f"Unknown path components: {record['path']}")
            token = self._token(record)
            return 200, {}, self.route(record["method"], parts[1:], record, token)
        except GraphError as error:
            return error.answer(self.calls)

    def _token(self, record) -> str:
        auth = record["headers"].get("Authorization") or record["headers"].get("authorization") or ""
        # "OAuth <token>" is the scheme the Resumable Upload API documents.
        scheme = next((s for s in ("Bearer ", "OAuth ") if auth.startswith(s)), "")
        token = auth[len(scheme):] if scheme else (record["query"].get("access_token") or [""])[0]
        if not token:
            raise GraphError(400, 2500, "An active access token must be used to query information about the "
                                        "current user.")
        if token not in self.tokens:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        given = (record["query"].get("appsecret_proof") or [""])[0]
        if given and not hmac.compare_digest(given, proof(token, self.tokens[token])):
            raise GraphError(400, 100, "Invalid appsecret_proof provided in the API argument",
                             type_="GraphMethodException")
        return token

    def route(self, method: str, parts: list[str], record: dict, token: str):
        raise GraphError(400, 100, "Unsupported request", type_="GraphMethodException")


# Posting to Parley as Meta does.

def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed(payload: dict, app_secret: str) -> tuple[bytes, dict]:
    """The body Meta posts for `payload` ({"object", "entry"}) and its
    headers, signed with `app_secret` (for Django's test client: pass the
    header as HTTP_X_HUB_SIGNATURE_256)."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature(app_secret, body)}


def post_event(url: str, payload: dict, app_secret: str) -> requests.Response:
    """`payload` posted to a live server's inbound URL, signed."""
    body, headers = signed(payload, app_secret)
    return requests.post(url, data=body, headers=headers, timeout=10)


def verify_url(url: str, verify_token: str, challenge: str = "1158201444") -> requests.Response:
    """Meta's check of a callback URL: the GET it sends when the business
    saves the URL and the verify token in the app's webhook settings."""
    return requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": verify_token,
                                     "hub.challenge": challenge}, timeout=10)
