"""One decorator for every REST API view: who is calling, which app and app
user the call is about, the JSON body, and Smooch's error JSON.

    @api_view(scope="app")
    def create_webhook(request, **kwargs): ...   # request.app, request.data

`scope` is the least a credential must grant:
- "appUser": the app-user-facing endpoints (app token, appUser JWT, app or
  account JWT);
- "app": server-to-server endpoints (app-scope JWT, or account-scope JWT at
  /v1/apps/{appId}/...);
- "account": the team's own endpoints (apps and their keys, /v1/apps...):
  an account-scope JWT only; `request.team_id` is its team and
  `request.app` the path's app (None on /v1/apps itself). An app-scope JWT
  is refused with 403, whatever app it names.
With `user=True` the path's `appUserId` (an `_id` or a `userId`) is resolved
to `request.app_user`, and the credential must reach that user.

Every failure is `{"error": {"code", "description"}}`: `ApiError` and the
services' `ServiceError` anywhere in a view, auth failures (401/403), 404 and
405. Auth failures are written to the app's log when the app is known.
"""

import logging
import threading
from functools import wraps

import jwt
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from messaging import events, jsonbody, outages, ratelimits
from messaging.client_address import address_of
from messaging.models import ApiKey, App
from messaging.services import audit, authors, credentials
from messaging.services.apps import origin_allowed
from messaging.services.credentials import AuthError, Credential
from messaging.services.errors import ServiceError

logger = logging.getLogger(__name__)

JSON_METHODS = ("POST", "PUT", "PATCH", "DELETE")
APP_SCOPES = ("app", "account")


class ApiError(Exception):
    """An error the API returns as Smooch's error JSON."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def error_response(status: int, code: str, description: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "description": description}}, status=status)


def bad_request(description: str) -> ApiError:
    return ApiError(400, "bad_request", description)


def not_found(description: str = "Not found.") -> ApiError:
    return ApiError(404, "not_found", description)


def api_view(scope: str = "appUser", *, user: bool = False, limit: ratelimits.Limit | None = None):
    """Authenticate, resolve the app (and app user), count the call against
    its rate limit, parse the body once and render every error the Smooch
    way. See the module docstring. `limit` replaces the credential's own
    limit with one per client address (/v1/init)."""
    if scope not in ("appUser", "app", "account"):
        raise ValueError(scope)

    def decorate(view):
        @wraps(view)
        def wrapper(request, appId=None, appUserId=None, **kwargs):
            try:
                _authorize(request, scope, appId, appUserId if user else None)
                refused = _rate_limited(request, limit)
                if refused is not None:
                    return refused
                request.data = _parse_body(request)
                return view(request, **kwargs)
            except ApiError as error:
                return error_response(error.status, error.code, error.description)
            except AuthError as error:
                # Raised past the decorator's own checks (e.g. /v1/init
                # resolving the user a device belongs to).
                _log_auth_failure(request, error, getattr(request, "credential", None),
                                  getattr(request, "app", None), appId)
                return error_response(error.status, error.code, error.description)
            except ServiceError as error:
                return error_response(error.status, error.code, error.description)
            except Http404 as error:
                return error_response(404, "not_found", str(error) or "Not found.")
            except outages.UNAVAILABLE:
                # The database or Redis is down for a moment: nothing was
                # accepted, and the client may try again (never an HTML 500).
                logger.warning("API call refused, a shared part is unavailable: %s %s", request.method,
                               request.path, exc_info=True)
                response = error_response(503, "service_unavailable",
                                          "Temporarily unavailable, please try again shortly.")
                response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
                return response
            except Exception:
                # Smooch clients expect JSON even here; the traceback goes to the log.
                logger.exception("API error on %s %s", request.method, request.path)
                return error_response(500, "internal_error", "Something went wrong on our end.")

        wrapper.api_scope = scope
        return csrf_exempt(wrapper)

    return decorate


# SQLite has one writer at a time and its busy handler waits by sleeping
# (up to 100 ms a try): on SQLite at most SQLITE_API_CALLS API calls run at
# once and the rest queue here, without sleeping. Measured with
# bench/api_send.py on SQLite: send p99 1.4-1.9 s with no limit, 0.5 s with
# one call at a time (but a third less throughput).
SQLITE_API_CALLS = 4
_sqlite_slots = (
    threading.BoundedSemaphore(SQLITE_API_CALLS)
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    else None
)


def route(**handlers):
    """One URL, one view per HTTP method; any other method is a JSON 405.
    The methods are kept on the view (`api_methods`) for the OpenAPI test.

    A plain sync view, like the handlers: under daphne Django runs the whole
    middleware chain and the view in one worker thread (one hop from the
    event loop). Connections are reused through Django's PostgreSQL pool
    (settings), so no thread pool of our own is needed."""

    allowed = ", ".join(sorted(handlers))

    def view(request, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            response = error_response(
                405, "method_not_allowed", f"{request.method} is not allowed on {request.path}."
            )
            # RFC 9110: a 405 names the methods the resource has.
            response["Allow"] = allowed
            return response
        if _sqlite_slots is None:
            return handler(request, **kwargs)
        with _sqlite_slots:
            return handler(request, **kwargs)

    view.api_methods = sorted(handlers)
    return csrf_exempt(view)


def _authorize(request, scope: str, app_id: str | None, app_user_ref: str | None) -> None:
    credential = None
    app = None
    try:
        credential = credentials.from_headers(
            request.headers.get("Authorization", ""), request.headers.get("app-token", "")
        )
        if scope == "account" and credential.scope != "account":
            # Checked before the app: an app key learns nothing of other apps.
            raise AuthError("This endpoint requires a JWT with account scope.", 403)
        try:
            app = credential.app_for(app_id) if app_id or scope != "account" else None
        except LookupError:
            raise ApiError(404, "not_found", f"App {app_id} not found.")
        if scope == "app" and credential.scope not in APP_SCOPES:
            raise AuthError(
                "This endpoint requires a JWT with app scope"
                + (" (or account scope at /v1/apps/{appId}/...)." if credential.method == "jwt" else "."),
                403,
            )
        _check_origin(request, credential, app)
        request.credential = credential
        request.team_id = credential.team_id
        request.app = app
        request.app_user = None
        if app_user_ref is not None:
            app_user = credential.find_app_user(app, app_user_ref)
            if app_user is None:
                raise ApiError(404, "not_found", f"App user {app_user_ref} not found.")
            app_user.app = app  # already loaded: spares a query per call
            credential.check_app_user(app_user)
            credentials.secure_if_needed(credential, app_user)
            request.app_user = app_user
    except AuthError as error:
        _log_auth_failure(request, error, credential, app, app_id)
        raise ApiError(error.status, error.code, error.description)


def _rate_limited(request, limit: ratelimits.Limit | None) -> JsonResponse | None:
    """A 429 once the caller is past its limit, else None. One counter per
    call: `limit` per client address when given; otherwise per API key for
    app and account JWTs, per app user for appUser JWTs, per app token and
    client address for the app token."""
    credential = request.credential
    # A Redis outage leaves callers with a signed JWT (a business's secret
    # key, an appUser JWT it issued) served uncounted for its seconds; the
    # public surface (the app token, per-address limits) is refused with a
    # 503 rather than left unlimited.
    fail_open = limit is None and credential.method != "appToken"
    if limit is not None:
        value = ratelimits.client_address(request)
    elif credential.method == "appToken":
        limit, value = ratelimits.APP_TOKEN, f"{request.app.id}:{ratelimits.client_address(request)}"
    elif credential.scope == "appUser":
        limit, value = ratelimits.APP_USER, f"{request.app.id}:{credential.user_id}"
    else:
        limit, value = ratelimits.API_KEY, credential.key.key_id
    refusal = ratelimits.hit(limit, request, value, fail_open=fail_open)
    if refusal is None:
        return None
    response = error_response(429, "too_many_requests", refusal.description)
    response["Retry-After"] = str(refusal.retry_after)
    return response


def _check_origin(request, credential: Credential, app) -> None:
    """An app that lists allowed origins (Web Messenger settings) may be
    called from a browser only by pages of those origins, on every call made
    with a client credential: the app token, or the appUser JWT the widget
    sends with it. Calls without an Origin (server SDKs, native apps) and
    server calls with an app or account JWT are not concerned. The preflight
    cannot apply this (it carries no credential: messaging.api.cors)."""
    origin = request.headers.get("Origin")
    if origin is None or credential.scope != "appUser" or origin_allowed(app, origin):
        return
    # Worded as /v1/init words it (its own check also covers app JWTs).
    raise AuthError(f"Origin {origin} is not allowed to embed this app", 403)


def _log_auth_failure(request, error: AuthError, credential: Credential | None, app, app_id):
    """Write the failure to the app's log when the app is known: from the
    credential, or from the key id of a JWT that failed to verify. Never the
    token or the secret."""
    key_id = None
    if app is None:
        if credential is not None:
            app = credential.app
            key_id = credential.key.key_id if credential.key else None
        else:
            app, key_id = _app_of_failed_jwt(request, app_id)
    elif credential is not None and credential.key is not None:
        key_id = credential.key.key_id
    logger.info("api auth failure app=%s key=%s status=%s", app.id if app else None, key_id, error.status)
    if app is None:
        return
    # Logged at most once a minute per app, credential and path (in Django's
    # cache: across processes with Redis): the app token is public (every
    # page with the widget carries it) and a key id is in every JWT, so
    # anyone could otherwise flood the Log tab.
    credential_name = key_id or "appToken"
    if not cache.add(f"parley:authfail:{app.id}:{credential_name}:{request.path}", 1, timeout=60):
        return
    detail = {"method": request.method, "path": request.path, "status": error.status,
              "description": error.description}
    if key_id:
        detail["keyId"] = key_id
    try:
        events.emit(
            "auth:failure", app=app, summary=f"API auth failure: {error.description}", detail=detail
        )
    except Exception:
        logger.exception("could not log an auth failure for app=%s", app.id)


def _app_of_failed_jwt(request, app_id):
    authorization = request.headers.get("Authorization", "")
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None, None
    try:
        kid = jwt.get_unverified_header(token.strip()).get("kid")
    except jwt.PyJWTError:
        return None, None
    if not isinstance(kid, str) or not kid:
        return None, None
    key = ApiKey.objects.select_related("app").filter(key_id=kid).first()
    if key is None:
        return None, None
    if key.app is not None:
        return key.app, key.key_id
    if app_id:
        return App.objects.filter(id=app_id, team_id=key.team_id).first(), key.key_id
    return None, key.key_id


def _parse_body(request) -> dict:
    """The JSON body as a dict ({} when empty), decoded and checked once by
    messaging.jsonbody (size, UTF-8, numbers, NUL bytes, surrogates, depth).
    Multipart bodies (image uploads) are left to Django's form parsing."""
    if request.method not in JSON_METHODS:
        return {}
    content_type = request.content_type or ""
    if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
        return {}
    limit = settings.PARLEY_MAX_JSON_BODY_BYTES
    try:
        raw = request.body
    except RequestDataTooBig:  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (settings: the same limit)
        raise ApiError(413, "payload_too_large",
                       f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    if not raw:  # no body: {} (a body of spaces alone is not JSON, and is refused)
        return {}
    try:
        data = jsonbody.decode(raw, max_bytes=limit)
    except jsonbody.BodyError as error:
        code = "payload_too_large" if error.status == 413 else "bad_request"
        raise ApiError(error.status, code, error.description.replace("The body", "The request body", 1))
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def actor(request) -> audit.Actor:
    """Who the audit trail records for this call: the API key that signed
    its JWT (id and name, never the secret), with the client address."""
    key = request.credential.key
    if key is None:  # an app token: not accepted by any audited route
        return audit.Actor(kind="key", id="appToken", label="app token", address=address_of(request))
    return audit.Actor.api_key(key, address_of(request))


def is_business(request) -> bool:
    """Whether the call is the business's own (an app or account JWT), not
    an end user's (an appUser JWT, an app token): only the business sees
    the conversation's inbox fields (messaging.wire.conversation_json)."""
    return request.credential.scope in APP_SCOPES


def require_app_scope(request, what: str) -> None:
    """For actions reserved to the business (appMaker messages,
    skipConfirmation...): an app or account JWT."""
    if request.credential.scope not in APP_SCOPES:
        _log_auth_failure(
            request, AuthError(f"{what} requires a JWT with app scope.", 403), request.credential,
            request.app, None,
        )
        raise ApiError(403, "forbidden", f"{what} requires a JWT with app scope.")


def author_of(request) -> authors.Author | None:
    """Who the business's call sends as (a message's `authorId`): the API
    key that signed its JWT; None without a key (the app is the author)."""
    key = request.credential.key
    return authors.for_key(key) if key is not None else None
