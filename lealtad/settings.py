"""Lealtad settings: one module, configured only from environment variables.

Development defaults are safe (SQLite under var/, DEBUG on); production (DEBUG off) fails loudly
when something it needs is missing.
"""

import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from lealtad.core import csp
from lealtad.core.env import (
    BadSetting,
    env,
    env_bool,
    env_int,
    env_list,
    env_path,
    env_seconds_list,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(read, *args, **kwargs):
    try:
        return read(*args, **kwargs)
    except BadSetting as exc:
        raise ImproperlyConfigured(str(exc)) from None


def envbool(name: str, default: bool) -> bool:
    return _env(env_bool, name, default)


def envint(name: str, default: int, minimum: int | None = None) -> int:
    return _env(env_int, name, default, minimum)


DEBUG = envbool("DEBUG", True)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production (DEBUG=false) Lealtad needs a long random "
            "SECRET_KEY in the environment; generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Serves Swagger UI from its own static files: the docs work without outside network.
    "ninja",
    "lealtad.core",
    "lealtad.network",
    "lealtad.program",
    "lealtad.customers",
    "lealtad.ledger",
    "lealtad.coins",
    "lealtad.invoices",
    "lealtad.offers",
    "lealtad.favourites",
    "lealtad.notifications",
    "lealtad.ratings",
    "lealtad.webhooks",
    "lealtad.claims",
    "lealtad.audit",
    "lealtad.api",
    "lealtad.cashier",
    "lealtad.console",
    "lealtad.app",
    # M2: the task engine's durable queue (the tasks live in this database, beside the movements).
    "django_tasks_db",
]

# The Web* middleware are Django's (and ours) for the screens only: API requests skip them
# (lealtad/core/middleware.py says why that changes no answer).
MIDDLEWARE = [
    "lealtad.core.middleware.RequestLogMiddleware",
    # Issue 17: pins a person who just wrote to the primary (lealtad/core/replica.py).
    "lealtad.core.replica.ReadYourWritesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    csp.MIDDLEWARE,
    "lealtad.core.middleware.ApiNoStoreMiddleware",
    "lealtad.api.problems.ProblemFallbackMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lealtad.core.middleware.InputGuardMiddleware",
    "lealtad.audit.context.AuditSourceMiddleware",
    "lealtad.core.middleware.WebSessionMiddleware",
    "lealtad.api.idempotency.IdempotencyMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "lealtad.core.middleware.WebAuthenticationMiddleware",
    "lealtad.core.middleware.WebMerchantLanguageMiddleware",
    "lealtad.core.middleware.WebMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lealtad.urls"
WSGI_APPLICATION = "lealtad.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
            # points, money, percent, multiplier, rate, number: every template formats numbers
            # the one way (lealtad/core/numbers.py) without a {% load %}.
            "builtins": ["lealtad.core.templatetags.numbers"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'lealtad.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Issue 17: DATABASE_URL names a PgBouncer in transaction pooling mode (docs/deployment.md,
# "PgBouncer"). Each transaction may run on another server connection, so nothing may outlive a
# transaction on the connection: no server-side cursor declared outside one (Django's
# `.iterator()` in autocommit declares it WITH HOLD), no prepared statement (a PgBouncer older
# than 1.21 does not carry them from one server connection to the next), no session SET.
DB_TRANSACTION_POOLING = _POSTGRES and envbool("DB_TRANSACTION_POOLING", False)
# The operator's word that their PgBouncer carries protocol-level prepared statements: 1.21 or
# newer with max_prepared_statements > 0 (psycopg closes them with the protocol's Close message,
# libpq 17+). Only then may DB_PREPARED_STATEMENTS stay on behind transaction pooling.
PGBOUNCER_PREPARED_STATEMENTS = envbool("PGBOUNCER_PREPARED_STATEMENTS", False)
# Issue 15: server-side parameter binding, and psycopg prepares a statement the second time a
# connection runs it, so PostgreSQL parses and plans each hot statement once per connection:
# measured at 45 % less PostgreSQL CPU per accrual (docs/benchmark.md); the customer lookup
# prepares its one query too (customers/lookup.py). Under DB_TRANSACTION_POOLING they are off
# unless PGBOUNCER_PREPARED_STATEMENTS says the PgBouncer carries them (an explicit
# DB_PREPARED_STATEMENTS=true without it fails the check pgbouncer.E001, lealtad/core/checks.py).
DB_PREPARED_STATEMENTS = (
    _POSTGRES
    and envbool("DB_PREPARED_STATEMENTS", True)
    and (not DB_TRANSACTION_POOLING or PGBOUNCER_PREPARED_STATEMENTS)
)
# Asked for in so many words (DB_PREPARED_STATEMENTS=true) and refused: the check says so.
DB_PREPARED_STATEMENTS_REFUSED = (
    DB_TRANSACTION_POOLING
    and not PGBOUNCER_PREPARED_STATEMENTS
    and bool(env("DB_PREPARED_STATEMENTS"))
    and envbool("DB_PREPARED_STATEMENTS", True)
)
if DB_TRANSACTION_POOLING:
    # QuerySet.iterator() then reads with an ordinary cursor; the exports keep their streaming
    # server-side cursor because they declare it inside their transaction (console/reports.py).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DB_PREPARED_STATEMENTS:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=2
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and a command share the file without
    # "database is locked"; IMMEDIATE makes write transactions take the lock up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "network.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/cashier/"
LOGOUT_REDIRECT_URL = "/login/"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sign-in throttling (lealtad/network/signin.py), for every way in: failures per username and
# client address (LOGIN_MAX_FAILURES, below), and a looser count per address, within a window of
# LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = ["lealtad.network.signin.ThrottledModelBackend"]
LOGIN_MAX_FAILURES_PER_ADDRESS = envint("LOGIN_MAX_FAILURES_PER_ADDRESS", 30, minimum=1)
# Proxies (addresses or networks) whose X-Forwarded-For names the client; no one else's is believed.
# By default a proxy on the same machine (serve binds 127.0.0.1): without it every client would
# share the proxy's address, and one stranger's failures would throttle everyone.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1")

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "lealtad" / "locale"]
FORMAT_MODULE_PATH = ["lealtad.formats"]  # Latin American number separators for "es"
TIME_ZONE = env("TIME_ZONE", "America/Bogota")
# N4: the network's one currency; 1 coin = 1 unit of it (the seeds' network is Colombian).
NETWORK_CURRENCY = env("NETWORK_CURRENCY", "COP").strip().upper()
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "var" / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", BASE_DIR / "var" / "media")
# Each node serves MEDIA_ROOT at /media/ itself (lealtad/core/media.py): behind a load balancer
# that cannot serve files, with MEDIA_ROOT on a path every node shares (docs/deployment.md).
SERVE_MEDIA = envbool("SERVE_MEDIA", DEBUG)
# Uploads that are nobody else's business (A7's invoice photos): never served by the web server,
# only streamed by a view that checks who asks (lealtad/claims/storage.py).
PRIVATE_MEDIA_ROOT = env_path("PRIVATE_MEDIA_ROOT", BASE_DIR / "var" / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # A7's invoice photos: PRIVATE_MEDIA_ROOT, never a URL (lealtad/claims/storage.py).
    "private": {"BACKEND": "lealtad.claims.storage.PrivateFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Development prints mail to the console; production sends through an SMTP relay.
EMAIL_URL = env("EMAIL_URL", "console://" if DEBUG else "smtp://localhost:25")
from lealtad.core.email_url import parse_email_url  # noqa: E402

globals().update(parse_email_url(EMAIL_URL))
# M2, M3: Django's Tasks framework on the database: a task is a row written in the transaction
# that causes it, and `lealtad worker` (started by `lealtad serve`) runs it. See docs/tasks.md.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# How long a failing e-mail is retried (a capped doubling backoff) before it is marked failed.
EMAIL_RETRY_HOURS = envint("EMAIL_RETRY_HOURS", 48, minimum=1)
# The backoff between a failing e-mail's (or SMS's) attempts: doubling from the first, capped.
EMAIL_RETRY_FIRST_SECONDS = envint("EMAIL_RETRY_FIRST_SECONDS", 10, minimum=1)
EMAIL_RETRY_MAX_SECONDS = envint("EMAIL_RETRY_MAX_SECONDS", 300, minimum=1)
# Issue 16: how long a worker holds the e-mail or SMS it sends; a worker that dies holding one
# leaves it to be sent again once this has passed. Must outlast the slowest send.
OUTBOX_LEASE_SECONDS = envint("OUTBOX_LEASE_SECONDS", 60, minimum=1)
# Issue 17: how far a task worker's clock may be off the database's (leases are judged by every
# worker's clock); past it the worker does not start, or stops. docs/tasks.md, "Several workers".
WORKER_MAX_CLOCK_SKEW_SECONDS = envint("WORKER_MAX_CLOCK_SKEW_SECONDS", 2, minimum=0)
# Where the links in customers' e-mails point (the rating page): this site as customers reach it.
SITE_URL = env("SITE_URL") or "http://127.0.0.1:8000"
# F6: how long after a detractor's silent rating the automatic reply goes.
RATING_AUTO_REPLY_DELAY_SECONDS = envint("RATING_AUTO_REPLY_DELAY_SECONDS", 300, minimum=0)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Lealtad <no-reply@lealtad.local>")
# The SMS provider (M2): twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+57…, console:// (prints), or
# empty: no SMS, codes go by e-mail. See lealtad/notifications/sms.py and docs/tasks.md.
SMS_URL = env("SMS_URL", "")
from lealtad.core.sms_url import parse_sms_url  # noqa: E402

parse_sms_url(SMS_URL)  # a malformed SMS_URL stops the start, it does not fail each message
# How long a failing SMS is retried (the e-mail's backoff) before it is marked failed.
SMS_RETRY_HOURS = envint("SMS_RETRY_HOURS", 24, minimum=1)
# I4 webhooks (lealtad/webhooks, docs/webhooks.md). Private, loopback and link-local targets are
# refused (SSRF) unless this is on: development, tests, receivers on the merchant's own network.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = envbool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
# Seconds to connect, and again to get the answer, per attempt.
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Seconds between attempts, comma-separated (each ±20 %); empty: 5 s … 20 h, about 3 days.
WEBHOOK_RETRY_SCHEDULE = _env(env_seconds_list, "WEBHOOK_RETRY_SCHEDULE")
# An endpoint failing every delivery this long is disabled and its admins told by e-mail.
WEBHOOK_DISABLE_AFTER_HOURS = envint("WEBHOOK_DISABLE_AFTER_HOURS", 72, minimum=1)

# Staff API tokens live this long; POS API keys do not expire (they are revoked).
API_TOKEN_HOURS = envint("API_TOKEN_HOURS", 12, minimum=1)
# Requests a minute per POS key, staff token or partner key (429 rate_limited past it); 0: none.
API_RATE_LIMIT = envint("API_RATE_LIMIT", 600, minimum=0)
# The Django cache (rate limits, throttles, cached credentials, the promotions flag): empty, each
# process's memory; redis://host:6379/0, one cache for every worker and node
# (lealtad/core/cache_url.py, docs/deployment.md "Several nodes").
CACHE_URL = env("CACHE_URL", "")
from lealtad.core.cache_url import caches_for  # noqa: E402

CACHES = _env(caches_for, CACHE_URL)
LOGIN_MAX_FAILURES = envint("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)

# Issue 16, limits (docs/security.md, "Limits"): the ways in that need no sign-in, counted per
# hour in the cache above (lealtad/core/throttle.py). The customer's sign-in codes: asked per
# address (e-mail or mobile) and per client address; wrong codes per client address and per
# customer address (across codes). Merchant sign-ups and the app's join form per client address.
CUSTOMER_CODES_PER_ADDRESS_HOUR = envint("CUSTOMER_CODES_PER_ADDRESS_HOUR", 5, minimum=1)
CUSTOMER_CODES_PER_IP_HOUR = envint("CUSTOMER_CODES_PER_IP_HOUR", 20, minimum=1)
CUSTOMER_WRONG_CODES_PER_IP_HOUR = envint("CUSTOMER_WRONG_CODES_PER_IP_HOUR", 30, minimum=1)
CUSTOMER_WRONG_CODES_PER_ADDRESS_HOUR = envint(
    "CUSTOMER_WRONG_CODES_PER_ADDRESS_HOUR", 15, minimum=1
)
SIGNUPS_PER_IP_HOUR = envint("SIGNUPS_PER_IP_HOUR", 10, minimum=1)
# Request bodies: fields read into memory at most 2.5 MB (the API's JSON guard is its own), an
# upload above 2.5 MB goes to a temporary file, not memory; at most 1,000 form fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=65_536)
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=65_536)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Production hardening; `lealtad check --deploy` is clean with DEBUG off behind TLS. Each is on
# by default with DEBUG off and can be switched by the environment (README's configuration table).
# Behind the TLS proxy, which sets X-Forwarded-Proto on every request (and replaces the client's):
# then a request is HTTPS when the proxy says so. Off when clients reach the server directly,
# or any client could claim HTTPS.
TRUST_X_FORWARDED_PROTO = envbool("TRUST_X_FORWARDED_PROTO", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# The session, CSRF and language cookies go over HTTPS only.
SECURE_COOKIES = envbool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# The language picked on a screen: only the server reads it.
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CSP = csp.POLICY
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "plain"}
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Our own one-line request log replaces Django's, which would print full URLs.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "lealtad.requests": {"level": env("REQUEST_LOG_LEVEL", "INFO").upper()},
    },
}

# Issue 17, the read replica (lealtad/core/replica.py, docs/deployment.md "Read replica"): a
# PostgreSQL streaming standby, read only by the views marked @reads_from_replica (reports,
# exports, the ratings inbox). Built last, from DATABASES["default"] as every line above left it,
# so that it copies default's OPTIONS and flags (pooling, prepared statements, cursors).
from lealtad.core.replica_url import replica_database  # noqa: E402

DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", "")
_replica = _env(replica_database, DATABASES["default"], DATABASE_REPLICA_URL)
if _replica is not None:
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["lealtad.core.replica.ReplicaRouter"]
# Read-your-writes: after a request of theirs committed a write, a person (staff member or API
# key) reads from the primary this many seconds. 0: never pinned.
REPLICA_PIN_SECONDS = envint("REPLICA_PIN_SECONDS", 10, minimum=0)
# A replica further behind than this (or unreachable) is not read; measured once a second.
REPLICA_MAX_LAG_SECONDS = envint("REPLICA_MAX_LAG_SECONDS", 30, minimum=0)
