"""What Messenger and WhatsApp share: Meta's Graph API and its webhooks.

- Calls go to `{PARLEY_<TYPE>_API_BASE}/v{PARLEY_GRAPH_API_VERSION}/{path}`
  with the token as a bearer header (never in the URL, which platforms and
  proxies log) and `appsecret_proof` (HMAC-SHA256 of the token with the app
  secret), which Meta checks when the app requires it and accepts always.
- Refusals are `{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}`; `explain` reads the codes both products share (an invalid
  token, rate limits) and hands the rest to the channel's own table.
- Webhooks: Meta confirms the callback URL with a GET (`hub.mode=subscribe`,
  `hub.verify_token`, `hub.challenge`: the challenge is answered when the
  token is the integration's), then posts events signed with the app secret
  in `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, as
  `{"object": ..., "entry": [...]}`. Any answer but 200 makes Meta post
  them again, for up to a day.
"""

import hashlib
import hmac
import re

from django.conf import settings

from messaging.integrations import base
from messaging.integrations.base import InboundRefused, Integration, PlatformError

SIGNATURE_HEADER = "X-Hub-Signature-256"
# hub.challenge is a number Meta picks; anything else is not Meta's.
CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
# Error codes of every Graph API product (developers.facebook.com/docs/graph-api/guides/error-handling).
INVALID_TOKEN = 190
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80006, 80007, 130429}
TEMPORARY_CODES = {1, 2}  # "unknown error", "service temporarily unavailable": retry


def graph_url(type_: str, path: str) -> str:
    return f"{base.api_base(type_)}/v{settings.PARLEY_GRAPH_API_VERSION}/{path.lstrip('/')}"


def appsecret_proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def error_of(response) -> dict:
    """A Graph API refusal's `error` object ({} when the body is not one)."""
    error = base.response_object(response).get("error")
    return error if isinstance(error, dict) else {}


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def explain(label: str, own=None):
    """An `explain` hook for base.http_call: Meta's refusal in its words,
    with the shared codes mapped (an invalid or expired token is
    `bad_credentials`, rate limits are transient) and the rest handed to
    `own(code, subcode, message, status)`, the channel's table, which
    returns a PlatformError or None (the default: a permanent `rejected`)."""

    def _explain(response) -> PlatformError:
        error = error_of(response)
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        message = str(error.get("message") or f"HTTP {response.status_code}")
        # WhatsApp says what was wrong in error_data.details ("The parameter
        # to is required."): the message alone is "(#100) Invalid parameter".
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        if isinstance(data.get("details"), str) and data["details"]:
            message = f"{message}: {data['details']}"
        message = message[:300]
        status = response.status_code
        if code == INVALID_TOKEN or status == 401:
            return PlatformError(f"{label} refused the access token: {message}", permanent=True,
                                 code="bad_credentials")
        if code in RATE_LIMIT_CODES or status == 429:
            return PlatformError(f"{label} rate limited the call: {message}", permanent=False,
                                 code="rate_limited")
        if code in TEMPORARY_CODES:
            return PlatformError(f"{label} is unavailable: {message}", permanent=False)
        if own is not None:
            found = own(code, subcode, message, status)
            if found is not None:
                return found
        suffix = f" (code {code}{f'/{subcode}' if subcode else ''})" if code is not None else ""
        return PlatformError(f"{label} refused the call: {message}{suffix}", permanent=True, code="rejected")

    return _explain


def signature_ok(body: bytes, header: str, app_secret: str) -> bool:
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].strip().lower().encode(), expected.encode())


class GraphIntegration(Integration):
    """A channel on Meta's Graph API. Subclasses set `object_name` (the
    webhook's `object`), `token_field` and `own_errors`, and split a
    verified body's entries into events (`split`)."""

    verifies_url = True
    object_name = ""
    token_field = ""
    ack_body = b"EVENT_RECEIVED"

    @staticmethod
    def own_errors(code, subcode, message, status) -> PlatformError | None:
        return None

    # Calls.

    def _token(self, credentials: dict | None = None) -> str:
        credentials = self.credentials if credentials is None else credentials
        token = str(credentials.get(self.token_field) or "").strip()
        if not token:
            raise PlatformError(f"the {self.label} integration has no {self.token_field}", permanent=True,
                                code="bad_credentials")
        return token

    def graph(self, method: str, path: str, *, credentials: dict | None = None, params: dict | None = None,
              auth_scheme: str = "Bearer", headers: dict | None = None, **kwargs) -> dict:
        """One Graph API call with the integration's token (or with
        `credentials`, being checked); returns the JSON object it answered.
        `auth_scheme` is the Authorization header's scheme: Bearer, or
        OAuth where Meta documents it (the Resumable Upload API's upload)."""
        credentials = self.credentials if credentials is None else credentials
        token = self._token(credentials)
        params = dict(params or {})
        app_secret = str(credentials.get("appSecret") or "")
        if app_secret:
            params["appsecret_proof"] = appsecret_proof(token, app_secret)
        response = base.http_call(method, graph_url(self.type, path), params=params,
                                  headers={**(headers or {}), "Authorization": f"{auth_scheme} {token}"},
                                  explain=explain(self.label, self.own_errors), **kwargs)
        body = base.response_object(response)
        if not body:
            raise PlatformError(f"{self.label} answered {path} without a JSON object", permanent=True)
        return body

    # Inbound.

    def handshake(self, request) -> str:
        query = request.GET
        token = query.get("hub.verify_token", "")
        expected = self.integration.webhook_secret if self.integration is not None else ""
        if query.get("hub.mode") != "subscribe" or not token or not expected \
                or not hmac.compare_digest(token.encode(), expected.encode()):
            raise InboundRefused("hub.mode must be subscribe and hub.verify_token the integration's verify "
                                 "token.", status=403)
        challenge = query.get("hub.challenge", "")
        if not CHALLENGE.fullmatch(challenge):
            raise InboundRefused("hub.challenge is missing or not Meta's.", status=400)
        return challenge

    def verify(self, request) -> list[base.RawEvent]:
        """The signature first (403), then the body: a JSON object of this
        channel's `object` with a list of entries (400 when not)."""
        app_secret = str(self.credentials.get("appSecret") or "")
        if not signature_ok(request.body, request.headers.get(SIGNATURE_HEADER, ""), app_secret):
            raise InboundRefused(f"the {SIGNATURE_HEADER} header is missing or wrong", status=403)
        body = base.json_body(request)
        if body.get("object") != self.object_name:
            raise InboundRefused(f"a {self.label} webhook's object is {self.object_name!r}", status=400)
        entries = body.get("entry")
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise InboundRefused("a Graph API webhook's entry is a list of objects", status=400)
        return self.split(entries)

    def split(self, entries: list[dict]) -> list[base.RawEvent]:
        """The verified entries as events, each keyed by the platform's id
        for it; InboundRefused (400) for one that is malformed."""
        raise NotImplementedError
