"""Who is calling: app tokens and JWTs (HS256, `kid` = an API key's id).

Shared by the REST API (`messaging.api.auth`) and the SDK websocket, so the
rules live in one place:
- an app token reaches the app-user-facing endpoints of its app, but never a
  user secured by a JWT (`credentialRequired`), and, while the app's
  `requireUserJwt` setting is on (the default for new apps), never a user
  with a `userId`: only anonymous users, each known by its own device;
- an `appUser` JWT (signed with an app-scope key of the app, with `userId`)
  reaches that one user, and secures it on first use;
- an `app` JWT (app-scope key) reaches every user of its app;
- an `account` JWT (account-scope key) reaches every app of its team.
Unsigned tokens, `alg: none`, unknown or revoked keys are refused.
"""

import copy
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.core import signing
from django.core.cache import cache
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from messaging.models import ApiKey, App, AppUser, KeyScope
from messaging.process_cache import ProcessCache
from messaging.services import sdk_access

ALGORITHMS = ["HS256"]
LAST_USED_RESOLUTION = 60  # seconds: don't write last_used_at on every call
# API keys with their apps, kept by each process and dropped in every
# process within process_cache.CHECK_SECONDS of a change anywhere.
_keys = ProcessCache("api-keys")
# Auth codes (GET .../appusers/{id}/authcode): good once, this long.
AUTH_CODE_SECONDS = 10 * 60
AUTH_CODE_SALT = "parley.auth-code"
AUTH_CODE_PREFIX = "ac_"
REQUIRE_USER_JWT_DESCRIPTION = (
    "This app requires a signed JWT to identify a user (requireUserJwt): "
    "send an appUser-scope JWT for this userId, or use no userId."
)


class AuthError(Exception):
    """401 when credentials are missing or invalid, 403 when valid but not
    allowed here."""

    def __init__(self, description: str, status: int = 401):
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = "unauthorized" if status == 401 else "forbidden"


@dataclass(frozen=True)
class Credential:
    method: str  # "jwt" or "appToken"
    scope: str  # "app", "appUser" or "account"
    team_id: int
    app: App | None = None  # None for account scope
    key: ApiKey | None = None
    user_id: str | None = None  # appUser scope only

    def app_for(self, app_id: str | None) -> App:
        """The app this call is about: the credential's own app, or for an
        account key one of its team's apps (404-worthy when not found)."""
        if self.scope == "account":
            if not app_id:
                raise AuthError("An account-scope key must address /v1/apps/{appId}/...", 403)
            app = App.objects.filter(id=app_id, team_id=self.team_id).first()
            if app is None:
                raise LookupError(app_id)
            return app
        if app_id and app_id != self.app.id:
            raise LookupError(app_id)
        return self.app

    def check_user_id(self, user_id: str | None) -> None:
        """Raise unless this credential may act as the user named `user_id`
        (None: an anonymous user). The one place `requireUserJwt` is
        enforced: /v1/init, every app-token API route that resolves an app
        user and the SDK socket's auth frame all come through here (and an
        open socket's re-check, through `app_token_may_claim`)."""
        if self.method == "appToken" and not app_token_may_claim(self.app, user_id):
            raise AuthError(REQUIRE_USER_JWT_DESCRIPTION, 401)

    def find_app_user(self, app: App, ref: str) -> AppUser | None:
        """The app user `ref` names (an `_id` or a `userId`), as this
        credential may look it up. The app token of an app whose
        `requireUserJwt` is on reaches anonymous users only, so it names users
        by `_id` alone: a userId then answers "not found" whether or not such
        a user exists, and the app token cannot tell which userIds do."""
        if self.method == "appToken" and app.require_user_jwt:
            return AppUser.objects.filter(app=app, id=ref).first()
        return AppUser.objects.by_ref(app, ref)

    def check_app_user(self, app_user: AppUser) -> None:
        """Raise unless this credential may reach `app_user`."""
        self.check_user_id(app_user.user_id)
        if self.method == "appToken" and app_user.credential_required:
            raise AuthError("This user is secured: a JWT with appUser scope is required.", 401)
        if self.method == "jwt" and self.scope == "appUser" and app_user.user_id != self.user_id:
            raise AuthError("This JWT is for another user.", 403)


def app_token_may_claim(app: App | None, user_id: str | None) -> bool:
    """May the app token alone act as the user named `user_id` of `app`?
    Always for an anonymous user (None); for a userId only while the app's
    `requireUserJwt` is off (Smooch v1: until the user's first JWT, which
    `credential_required` records)."""
    return user_id is None or app is None or not app.require_user_jwt


def from_app_token(token: str) -> Credential:
    app = App.objects.filter(app_token=token).first() if token else None
    if app is None:
        raise AuthError("Invalid app token.")
    return Credential(method="appToken", scope="appUser", team_id=app.team_id, app=app)


def from_jwt(token: str) -> Credential:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("Invalid JWT: it could not be decoded.")
    if header.get("alg") not in ALGORITHMS:
        raise AuthError("Invalid JWT: only HS256-signed tokens are accepted.")
    kid = header.get("kid")
    if not kid or not isinstance(kid, str):
        raise AuthError("Invalid JWT: the header has no kid.")
    key = _key(kid)
    if key is None:
        raise AuthError("Invalid JWT: unknown key id.")
    if key.revoked_at is not None:
        raise AuthError("Invalid JWT: this key has been revoked.")
    try:
        claims = jwt.decode(token, key.secret, algorithms=ALGORITHMS, options={"require": []})
    except jwt.InvalidSignatureError:
        raise AuthError("Invalid JWT: bad signature.")
    except jwt.PyJWTError as error:
        raise AuthError(f"Invalid JWT: {error}.")
    scope = claims.get("scope")
    if scope not in ("app", "appUser", "account"):
        raise AuthError("Invalid JWT: the scope claim must be app, appUser or account.")
    if key.scope == KeyScope.ACCOUNT and scope != "account":
        raise AuthError(f"Invalid JWT: an account key cannot sign {scope}-scope tokens.", 401)
    if key.scope == KeyScope.APP and scope == "account":
        raise AuthError("Invalid JWT: an app key cannot sign account-scope tokens.", 401)
    user_id = None
    if scope == "appUser":
        user_id = claims.get("userId")
        if not isinstance(user_id, str) or not user_id:
            raise AuthError("Invalid JWT: appUser scope needs a userId claim.")
    _touch(key)
    # A copy per call: the cached key's app is shared by concurrent requests.
    app = copy.copy(key.app) if key.app is not None else None
    return Credential(
        method="jwt", scope=scope, team_id=key.team_id, app=app, key=key, user_id=user_id
    )


def _key(kid: str) -> ApiKey | None:
    """The API key `kid` with its app, from this process's cache: every JWT
    call needs it, and it rarely changes. Revoking, deleting or changing a
    key (or its app) drops the entry here at once and in every other
    process within process_cache.CHECK_SECONDS (signals below). Unknown key
    ids are not cached."""
    key = _keys.get(kid)
    if key is not None:
        return key
    key = ApiKey.objects.select_related("app").filter(key_id=kid).first()
    if key is not None:
        _keys.put(kid, key)
    return key


def forget_keys(*, key_id: str | None = None, app_id: str | None = None) -> None:
    """A key changed (or every key of an app, or all): drop them here, and
    every process's cached keys soon after."""
    if key_id is None and app_id is None:
        _keys.changed()
        return
    _keys.changed(keep=lambda kid, key: kid != key_id and (app_id is None or key.app_id != app_id))


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="parley-forget-api-key")
def _key_changed(sender, instance, **kwargs):
    forget_keys(key_id=instance.key_id)


@receiver([post_save, post_delete], sender=App, dispatch_uid="parley-forget-app-keys")
def _app_changed(sender, instance, **kwargs):
    forget_keys(app_id=instance.pk)


def from_headers(authorization: str, app_token: str) -> Credential:
    """The credential of an HTTP call: a Bearer JWT, else an app token."""
    if authorization:
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise AuthError("The authorization header must be 'Bearer <jwt>'.")
        return from_jwt(token.strip())
    if app_token:
        return from_app_token(app_token)
    raise AuthError("Authorization is required.")


def secure_if_needed(credential: Credential, app_user: AppUser) -> None:
    """The first appUser JWT for a user secures it: from then on its app
    token no longer reaches it."""
    if credential.method == "jwt" and credential.scope == "appUser" and not app_user.credential_required:
        app_user.credential_required = True
        app_user.save(update_fields=["credential_required"])
        # Sockets opened with the app token alone must not keep the user.
        sdk_access.access_changed(app_user, "secured")


def _touch(key: ApiKey) -> None:
    """Record the key's use (shown on the settings pages), cheaply: a
    process asks only when its cached copy is a minute old, and the update
    is conditional, so the row is written at most once a minute whatever
    the number of processes."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=LAST_USED_RESOLUTION))
        ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def authenticate_sdk(*, app_token: str, app_user_ref: str | None, jwt_token: str | None):
    """For SDK clients (widget websocket, /v1/init): the app from its token
    and, when given, the app user it may act as. Returns (app, app_user|None)."""
    credential = from_app_token(app_token)
    app = credential.app
    if jwt_token:
        credential = from_jwt(jwt_token)
        if credential.app is None or credential.app.id != app.id:
            raise AuthError("This JWT belongs to another app.", 401)
    if not app_user_ref:
        return app, None
    app_user = credential.find_app_user(app, app_user_ref)
    if app_user is None:
        raise LookupError(app_user_ref)
    credential.check_app_user(app_user)
    secure_if_needed(credential, app_user)
    return app, app_user


def issue_auth_code(app_user: AppUser) -> str:
    """A short-lived (AUTH_CODE_SECONDS), single-use code that an SDK sends
    to /v1/init as `authCode` (with the app's token) to bring its device
    into `app_user`'s conversation: the device becomes that user's client
    and init answers with that user, as a JWT login would, whether or not
    the user has a userId or is secured. It grants nothing more: the calls
    after init need the credentials that user always needs (the app token
    for an anonymous user; an appUser JWT for a user with a userId while
    `requireUserJwt` is on, or once secured). Signed with SECRET_KEY, for
    one app and one user."""
    return AUTH_CODE_PREFIX + signing.dumps(
        {"app": app_user.app_id, "user": app_user.id, "nonce": secrets.token_urlsafe(12)},
        salt=AUTH_CODE_SALT, compress=True)


def redeem_auth_code(app: App, code: str) -> AppUser:
    """The app user an auth code of `app` names, spending the code
    (AuthError 401 when it is not one of ours, was made for another app,
    is too old, was used already, or its user is gone)."""
    refused = AuthError("Invalid authCode: it is unknown, expired or already used.")
    if not isinstance(code, str) or not code.startswith(AUTH_CODE_PREFIX):
        raise refused
    try:
        claims = signing.loads(code[len(AUTH_CODE_PREFIX):], salt=AUTH_CODE_SALT, max_age=AUTH_CODE_SECONDS)
    except signing.BadSignature:
        raise refused
    if not isinstance(claims, dict) or claims.get("app") != app.id:
        raise refused
    # Single use: the first redemption marks the nonce (an atomic add, in
    # the cache every process shares), any later one finds the mark.
    if not cache.add(f"auth-code-used:{claims.get('nonce')}", 1, timeout=AUTH_CODE_SECONDS + 60):
        raise refused
    app_user = AppUser.objects.select_related("app").filter(app=app, id=claims.get("user")).first()
    if app_user is None:
        raise refused
    return app_user
