"""Parley settings.

The only module that reads the environment (names fixed in DESIGN.md). With no
environment at all it runs on the embedded defaults: SQLite under var/, the
in-memory channel layer, the database task backend, a SECRET_KEY generated
once and kept under var/.
"""

import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PARLEY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}")


def envlist(name, default):
    value = os.environ.get(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


def envnetworks(name):
    """Comma-separated networks (`127.0.0.0/8,::1/128`) as ip_network
    objects; None when unset or empty."""
    items = envlist(name, "")
    if not items:
        return None
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated networks such as 127.0.0.0/8,::1/128; "
                f"{item!r} is not one ({error})"
            )
    return tuple(networks)


RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def envrate(name, default):
    """A django-ratelimit rate such as `400/2s`; checked here so that a typo
    fails at start-up rather than on the first request."""
    value = os.environ.get(name) or default
    match = RATE_RE.match(value.strip())
    if not match or int(match.group(1)) < 1 or match.group(2) in ("0",):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 400/2s (count/period, period in s, m, h or d), not {value!r}"
        )
    return value.strip()


def _read_or_create_secret(path: Path) -> str:
    """A random secret kept in a file under var/, made on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value


DEBUG = envbool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY") or _read_or_create_secret(VAR_DIR / "secret_key")
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 32 characters")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "django_tasks_db",
    "django_ratelimit",
    "messaging",
    "dashboard",
]

MIDDLEWARE = [
    # First: every later middleware (HTTPS redirect, CORS, sign-in
    # throttles) sees the client's address and scheme as trusted proxies
    # report them, and never what an untrusted peer claims.
    "messaging.client_address.ClientAddressMiddleware",
    "messaging.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "messaging.api.cors.CorsMiddleware",
    "messaging.api.request_guard.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # After Django's: its process_response runs first and picks the
    # policy of the widget's and the API's paths (dashboard/csp.py).
    "dashboard.csp.PathPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        # Django's own, rendering lone surrogates of old rows harmlessly.
        "BACKEND": "dashboard.templating.Templates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'parley.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        # A connection is checked before use (the pool's check_connection):
        # after a PostgreSQL restart, dead connections are replaced instead
        # of failing the requests that would get them.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process worker write while daphne's threads read.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_parley.sqlite3")
    # A live server started by the test suite opens the suite's test database.
    if os.environ.get("PARLEY_TEST_SQLITE_NAME"):
        DATABASES["default"]["NAME"] = os.environ["PARLEY_TEST_SQLITE_NAME"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not DATABASES["default"]["CONN_MAX_AGE"]:
    # Django's own connection pool (psycopg_pool): under daphne every sync
    # view runs on a fresh thread, and without a pool each request would open
    # (and close) its own PostgreSQL connection. min_size stays open; beyond
    # max_size a request waits for a free connection, which also bounds the
    # database work one process does at once. (DATABASE_CONN_MAX_AGE > 0
    # chooses persistent connections instead: the two do not combine.) The
    # wait is short: with the database down, an API call is answered 503
    # within it, rather than hanging past a client's own timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 8, "timeout": 5}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "messaging.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Django's cache holds rate-limit counters and sign-in throttles: in Redis
# when REDIS_URL is set, so they hold across every web process; otherwise
# the local-memory default, right for the one process of the embedded
# defaults.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("PARLEY_CACHE_KEY_PREFIX", "parley"),
        }
    }
    # django-ratelimit lists only django-redis among Redis caches; Django's
    # own RedisCache counts with SET NX and INCR, atomic in Redis.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Without Redis Parley is one process (make run): a per-process cache is
    # shared by everything that counts.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": os.environ.get(
                "PARLEY_CHANNEL_LAYER", "channels_redis.pubsub.RedisPubSubChannelLayer"
            ),
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by whitenoise straight from the source folders: no collectstatic
# step is needed for `make run`.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("PARLEY_MEDIA_ROOT", VAR_DIR / "media"))
# Uploaded images: local files under MEDIA_ROOT (served by Parley at /media/)
# by default; at scale an S3-compatible bucket (pip install django-storages[s3]).
if os.environ.get("PARLEY_S3_BUCKET"):
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ["PARLEY_S3_BUCKET"],
                "endpoint_url": os.environ.get("PARLEY_S3_ENDPOINT_URL") or None,
                "access_key": os.environ.get("PARLEY_S3_ACCESS_KEY") or None,
                "secret_key": os.environ.get("PARLEY_S3_SECRET_KEY") or None,
                "custom_domain": os.environ.get("PARLEY_S3_PUBLIC_DOMAIN") or None,
                "querystring_auth": False,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
PARLEY_MAX_IMAGE_BYTES = envint("PARLEY_MAX_IMAGE_BYTES", 10 * 1024 * 1024)

# Input limits (README "Input limits"): what a client may send, checked once
# at the boundary (messaging/jsonbody.py) and by the body schemas
# (messaging/schemas.py). Uploads keep PARLEY_MAX_IMAGE_BYTES: Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE counts request.body and form fields, never
# uploaded files.
PARLEY_MAX_JSON_BODY_BYTES = envint("PARLEY_MAX_JSON_BODY_BYTES", 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PARLEY_MAX_JSON_BODY_BYTES
PARLEY_MAX_JSON_DEPTH = envint("PARLEY_MAX_JSON_DEPTH", 32)
PARLEY_MAX_TEXT_LENGTH = envint("PARLEY_MAX_TEXT_LENGTH", 10_000)
PARLEY_MAX_MESSAGE_ACTIONS = envint("PARLEY_MAX_MESSAGE_ACTIONS", 20)
PARLEY_MAX_METADATA_BYTES = envint("PARLEY_MAX_METADATA_BYTES", 4 * 1024)
PARLEY_MAX_PROPERTIES_BYTES = envint("PARLEY_MAX_PROPERTIES_BYTES", 16 * 1024)
PARLEY_MAX_SOCKET_MESSAGE_BYTES = envint("PARLEY_MAX_SOCKET_MESSAGE_BYTES", 256 * 1024)

# Email (invites, password resets, the email channel): Django 6.1's MAILERS,
# filled from the classic EMAIL_* environment names.
_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_EMAIL_OPTIONS = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": envint("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": envbool("EMAIL_USE_TLS", False),
        "timeout": 10,
    }
elif _EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    _EMAIL_OPTIONS = {"file_path": os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "parley@localhost")

# Security: cookies only over HTTPS unless DEBUG is on; HSTS is opt-in
# because it cannot be taken back once browsers have seen it.
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# Probes reach a process directly over plain HTTP, never through the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content security policy (Django's own, django.middleware.csp): the
# dashboard runs only its own static scripts and stylesheets (no inline
# script, style or hx-on attribute; htmx is configured for it in base.html)
# and may not be framed. Images may come from any https origin (avatars
# are URLs users and businesses give) and from the configured Gravatar.
# The widget's endpoints have their own policies: dashboard/csp.py.
CSP_IMAGE_SOURCES = [CSP.SELF, "data:", "blob:", "https:"]
SECURE_CSP = {
    "default-src": [CSP.SELF],
    # 'report-sample': a violation report quotes the start of what was
    # blocked (tests/support/browser.py prints it).
    "script-src": [CSP.SELF, CSP.REPORT_SAMPLE],
    "style-src": [CSP.SELF, CSP.REPORT_SAMPLE],
    "img-src": CSP_IMAGE_SOURCES,
    # 'self' covers the dashboard's own ws:/wss: socket (CSP level 3).
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
# Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed
# (addresses or networks); unset: none, the direct peer is the client
# (messaging/client_address.py). Nothing else makes Parley believe them.
PARLEY_TRUSTED_PROXIES = envnetworks("PARLEY_TRUSTED_PROXIES")
if PARLEY_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Who may read /readyz and /metrics: these
# addresses, or anyone with `Authorization: Bearer <PARLEY_OPS_TOKEN>`.
PARLEY_OPS_ALLOW = envnetworks("PARLEY_OPS_ALLOW") or [ipaddress.ip_network("127.0.0.0/8"),
                                                        ipaddress.ip_network("::1/128")]
PARLEY_OPS_TOKEN = os.environ.get("PARLEY_OPS_TOKEN", "")
# How often daphne pings each websocket (manage.py serve).
PARLEY_WS_PING_SECONDS = envint("PARLEY_WS_PING_SECONDS", 60)

# Parley's own settings.
PARLEY_PUBLIC_URL = os.environ.get("PARLEY_PUBLIC_URL", "").rstrip("/")
PARLEY_FAILOVER_SECONDS = envint("PARLEY_FAILOVER_SECONDS", 300)
PARLEY_WEBHOOK_ALLOW_PRIVATE = envbool("PARLEY_WEBHOOK_ALLOW_PRIVATE", DEBUG)
# Every outbound request (webhooks, platform calls, media downloads) must
# connect to an address in one of these networks; None: no allow-list
# (messaging/outbound.py).
PARLEY_OUTBOUND_ALLOW = envnetworks("PARLEY_OUTBOUND_ALLOW")
# Author avatars from an email: this base URL, the email's MD5, then `?d=mp`.
PARLEY_GRAVATAR_URL = os.environ.get("PARLEY_GRAVATAR_URL", "https://www.gravatar.com/avatar/")
_gravatar = urlsplit(PARLEY_GRAVATAR_URL)
if _gravatar.scheme == "http" and _gravatar.netloc:
    # An http Gravatar (a local mirror) is an image source too.
    CSP_IMAGE_SOURCES.append(f"http://{_gravatar.netloc}")
PARLEY_SECRETS_KEY = os.environ.get("PARLEY_SECRETS_KEY", "")
PARLEY_LOG_RETENTION_DAYS = envint("PARLEY_LOG_RETENTION_DAYS", 30)
PARLEY_TYPING_TIMEOUT_SECONDS = envint("PARLEY_TYPING_TIMEOUT_SECONDS", 10)
PARLEY_WORKER_INTERVAL = float(os.environ.get("PARLEY_WORKER_INTERVAL", "0.2"))
PARLEY_TELEGRAM_API_BASE = os.environ.get("PARLEY_TELEGRAM_API_BASE", "https://api.telegram.org")
PARLEY_MESSENGER_API_BASE = os.environ.get("PARLEY_MESSENGER_API_BASE", "https://graph.facebook.com")
PARLEY_WHATSAPP_API_BASE = os.environ.get("PARLEY_WHATSAPP_API_BASE", "https://graph.facebook.com")
# Meta's Graph API version for Messenger and WhatsApp: calls go to
# {base}/v{version}/... (a number such as 23.0).
PARLEY_GRAPH_API_VERSION = os.environ.get("PARLEY_GRAPH_API_VERSION", "23.0").lstrip("vV")
PARLEY_TWILIO_API_BASE = os.environ.get("PARLEY_TWILIO_API_BASE", "https://api.twilio.com")
PARLEY_LINE_API_BASE = os.environ.get("PARLEY_LINE_API_BASE", "https://api.line.me")
# LINE serves the files users send from a host of its own.
PARLEY_LINE_DATA_API_BASE = os.environ.get("PARLEY_LINE_DATA_API_BASE", "https://api-data.line.me")
PARLEY_VIBER_API_BASE = os.environ.get("PARLEY_VIBER_API_BASE", "https://chatapi.viber.com")
PARLEY_MAILGUN_API_BASE = os.environ.get("PARLEY_MAILGUN_API_BASE", "https://api.mailgun.net")
# Inbound platform events are kept this long after they are worked: the
# duplicate check (a platform re-sending an update) and inspection.
PARLEY_INBOUND_KEEP_DAYS = envint("PARLEY_INBOUND_KEEP_DAYS", 7)
# Channel classes added to the built-in registry (dotted paths); production
# has none, the test settings add the test-only "fake" channel.
PARLEY_EXTRA_INTEGRATIONS = []
# Delivery engine: how long a worker's claim on a delivery, webhook event or
# timer holds, how often the sweep runs, and the retry budget (exponential
# backoff from PARLEY_RETRY_BASE_SECONDS).
PARLEY_CLAIM_SECONDS = envint("PARLEY_CLAIM_SECONDS", 60)
PARLEY_SWEEP_SECONDS = envint("PARLEY_SWEEP_SECONDS", 15)
PARLEY_DELIVERY_MAX_ATTEMPTS = envint("PARLEY_DELIVERY_MAX_ATTEMPTS", 6)
# Webhook sending: threads of one worker's dispatcher, and requests in
# flight at once per webhook (a slow target holds only its own).
PARLEY_WEBHOOK_CONCURRENCY = envint("PARLEY_WEBHOOK_CONCURRENCY", 16)
PARLEY_WEBHOOK_IN_FLIGHT = envint("PARLEY_WEBHOOK_IN_FLIGHT", 4)
# How long a target may take to answer (Smooch: 5 s).
PARLEY_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("PARLEY_WEBHOOK_TIMEOUT_SECONDS", "5"))
PARLEY_RETRY_BASE_SECONDS = float(os.environ.get("PARLEY_RETRY_BASE_SECONDS", "2"))

# Rate limits (messaging/ratelimits.py): django-ratelimit rates, "count/
# period" with the period in s, m, h or d and an optional multiplier
# ("400/2s": 400 requests in a 2-second window, i.e. 200/s with bursts of
# 400). A window is fixed, so a burst of twice the rate is what one window
# allows.
PARLEY_RATE_API_KEY = envrate("PARLEY_RATE_API_KEY", "400/2s")  # per API key (JWT kid)
PARLEY_RATE_APP_TOKEN = envrate("PARLEY_RATE_APP_TOKEN", "40/2s")  # per app token and client address
PARLEY_RATE_APP_USER = envrate("PARLEY_RATE_APP_USER", "40/2s")  # per app and userId (appUser JWT)
PARLEY_RATE_INIT = envrate("PARLEY_RATE_INIT", "20/2s")  # /v1/init per client address
PARLEY_RATE_SIGN_IN = envrate("PARLEY_RATE_SIGN_IN", "20/2m")  # dashboard, per client address
PARLEY_RATE_PASSWORD_RESET = envrate("PARLEY_RATE_PASSWORD_RESET", "20/2m")
PARLEY_RATE_SIGN_UP = envrate("PARLEY_RATE_SIGN_UP", "20/2m")
PARLEY_RATE_SOCKET = envrate("PARLEY_RATE_SOCKET", "20/2s")  # SDK socket message + typing frames
# A socket whose frames go on being refused is closed after this many
# refusals in one window (a further burst).
PARLEY_RATE_SOCKET_REFUSALS = envint("PARLEY_RATE_SOCKET_REFUSALS", 20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
