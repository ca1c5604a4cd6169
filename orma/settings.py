"""OrMa settings: one module, driven by environment variables.

The embedded default (no environment at all) is SQLite in ``var/``, Celery on kombu's filesystem transport
in ``var/celery/`` (a real worker, no server to install), a file cache in ``var/cache/`` and the sandbox DMS: what
``make run`` uses. Production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``CACHE_URL``, ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``DEBUG=0``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DEBUG", default=False)
# Tests, the dev server and `make run` are the only places a built-in key is acceptable.
_DEV_SECRET_KEY = "orma-insecure-development-key-do-not-use-in-production-0123456789"
SECRET_KEY = envstr("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG=1 (development)")
# The key of the HMAC that stores partner secrets; rotating SECRET_KEY must not lock every partner out,
# so production sets its own.
ORMA_PARTNER_SECRET_KEY = envstr("ORMA_PARTNER_SECRET_KEY") or SECRET_KEY
# Fernet keys that encrypt secrets at rest (dealers' DMS passwords), comma-separated, the first one encrypting;
# empty: a key derived from SECRET_KEY (orma.crypto). Rotation: docs/security.md.
ORMA_ENCRYPTION_KEYS = envlist("ORMA_ENCRYPTION_KEYS", [])

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "orma",
    "tenancy",
    "orders",
    "parts",
    "dms_adapters",
    "notifications",
    "axes",  # admin login lockout (hardening): orma.lockout
]

MIDDLEWARE = [
    "orma.api.middleware.CorrelationIdMiddleware",
    "orma.api.middleware.RequestGuardMiddleware",  # Host, http, chunked bodies, hostile bytes: before all else
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "orma.api.middleware.ApiErrorMiddleware",
    "orma.api.middleware.SessionMiddleware",  # these three: for the pages only, not the API
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "orma.api.middleware.AuthenticationMiddleware",
    "orma.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out admin login (hardening)
]

ROOT_URLCONF = "orma.urls"
WSGI_APPLICATION = "orma.wsgi.application"
# 1 MiB: the largest request body any endpoint accepts (413 PAYLOAD_TOO_LARGE beyond).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
APPEND_SLASH = False  # a partner's PUT must never be redirected (and lose its body) to a slashed URL

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'orma.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 600))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing with
        # "database is locked" mid-transaction: the embedded default serialises writers as well.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # A persistent connection is checked with one "SELECT 1" round trip at the first query of a request, so no
    # request fails on a connection the server dropped (a restart, an idle timeout); not when it answered a
    # query less than DB_CONN_ALIVE_BYPASS_SECONDS ago (orma/postgresql). DB_CONN_HEALTH_CHECKS=0 never checks:
    # after a drop, the first request of each worker then answers 503 and Django replaces the connection.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = envbool("DB_CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint("DB_CONNECT_TIMEOUT", 3)
    # The hot hand-written statements (orma.db.prepared_cursor) are prepared after five runs on a connection;
    # Django's own cursors bind on the client and are never prepared. 0 for a pooler in transaction mode.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = envint("DB_PREPARE_THRESHOLD", 5) or None
    # No JIT: an OLTP statement whose row estimate ran high (a table not yet analysed) was compiled by LLVM
    # for 1.4 s per request (parts' basket, issue 12); no statement of OrMa runs long enough to repay it.
    DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "orma.postgresql"  # Django's, checking a connection only after a pause
# ...except for a connection that answered a query less than this many seconds ago (orma/postgresql); 0: always.
ORMA_DB_ALIVE_BYPASS_SECONDS = envfloat("DB_CONN_ALIVE_BYPASS_SECONDS", 0.5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (auth lockout counters, rate limits, credential cache) ----------------------------------
CACHE_URL = envstr("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "orma",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # The embedded default shares one cache between its processes (the dev server, a support command in
    # another shell, a second server): files under var/cache. With a per-process memory cache a secret
    # rotated or a partner deactivated by a command stayed valid in the server for the cached minute.
    ORMA_CACHE_DIR = Path(envstr("ORMA_CACHE_DIR", str(VAR_DIR / "cache")))
    ORMA_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(ORMA_CACHE_DIR),
            "KEY_PREFIX": "orma",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Celery ---------------------------------------------------------------------------------------
# Celery is only the doorbell (orma.outbox): the database holds every delivery's state, a task carries a
# row id, and the beat sweep re-rings what is due. So a lost message (a dead worker, a wiped broker, the
# filesystem transport's lack of redelivery) costs one sweep, never a delivery.
#
# Without CELERY_BROKER_URL the broker is kombu's filesystem transport under ORMA_CELERY_DIR (var/celery):
# `make run`'s real worker, with no server to install. Production sets a Redis URL.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL") or "filesystem://localhost/"
ORMA_CELERY_DIR = Path(envstr("ORMA_CELERY_DIR", str(VAR_DIR / "celery")))
ORMA_CELERY_DIR.mkdir(parents=True, exist_ok=True)
# Tasks run in the calling process: for the test run only (pyproject's pytest env sets it), where tests
# exercise a task's logic. The variable is removed once read, so a worker or server a test starts never
# inherits it (an eager worker would run every push inside the sweep, an eager server inside the request).
CELERY_TASK_ALWAYS_EAGER = envbool("ORMA_CELERY_EAGER")
os.environ.pop("ORMA_CELERY_EAGER", None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
# A task is killed well before the broker would hand it to another worker (Redis' visibility timeout).
CELERY_TASK_TIME_LIMIT = 300
# Celery's Django fixup closes the task's database connections before and after every task unless this is set
# (then after this many): each webhook task paid a new PostgreSQL connection (~18 % of its samples in py-spy,
# issue 10) and lost the connection's prepared statements. The tasks keep theirs as a request does instead:
# CONN_MAX_AGE and the health checks decide, at each task's start and end (orma.celery).
CELERY_DB_REUSE_MAX = envint("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULE_FILENAME = str(ORMA_CELERY_DIR / "beat-schedule")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder is both the producers' "out" and the worker's "in"; "control" holds the exchange bindings
    # of broadcasts (remote control). A taken message is deleted, not kept in a "processed" folder, where
    # the sweep's doorbell every few seconds would pile up.
    ORMA_CELERY_FOLDERS = {"queue": ORMA_CELERY_DIR / "queue", "control": ORMA_CELERY_DIR / "control"}
    for _folder in ORMA_CELERY_FOLDERS.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(ORMA_CELERY_FOLDERS["queue"]),
        "data_folder_out": str(ORMA_CELERY_FOLDERS["queue"]),
        "control_folder": str(ORMA_CELERY_FOLDERS["control"]),
        "store_processed": False,
        "polling_interval": 0.5,  # the worker lists the folder this often: a push starts within 0.5 s
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A broker outage must never block an API request for long: the outbox sweep re-queues later.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "max_retries": 1,
        "visibility_timeout": 3600,  # > CELERY_TASK_TIME_LIMIT, so a running task is never handed out twice
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# The DMS push (dms_adapters): the outbox lease, the retry budget, per-dealer concurrency and circuit breaker.
ORMA_DMS_CONNECT_TIMEOUT_SECONDS = envint("ORMA_DMS_CONNECT_TIMEOUT_SECONDS", 5)
ORMA_DMS_READ_TIMEOUT_SECONDS = envint("ORMA_DMS_READ_TIMEOUT_SECONDS", 30)
ORMA_DMS_LEASE_SECONDS = envint("ORMA_DMS_LEASE_SECONDS", 120)  # > the longest attempt (2 requests × 35 s)
ORMA_DMS_RETRY_BUDGET_SECONDS = envint("ORMA_DMS_RETRY_BUDGET_SECONDS", 24 * 60 * 60)
ORMA_DMS_DEALER_CONCURRENCY = envint("ORMA_DMS_DEALER_CONCURRENCY", 2)
ORMA_DMS_BREAKER_THRESHOLD = envint("ORMA_DMS_BREAKER_THRESHOLD", 5)
ORMA_DMS_BREAKER_PAUSE_SECONDS = envint("ORMA_DMS_BREAKER_PAUSE_SECONDS", 30)
ORMA_DMS_BREAKER_MAX_PAUSE_SECONDS = envint("ORMA_DMS_BREAKER_MAX_PAUSE_SECONDS", 15 * 60)
ORMA_DMS_SWEEP_SECONDS = envint("ORMA_DMS_SWEEP_SECONDS", 5)
# A parts order to a synchronous network DMS: how long the request waits for the worker's push (201), else 202.
ORMA_PARTS_DMS_WAIT_SECONDS = envint("ORMA_PARTS_DMS_WAIT_SECONDS", 3)
# Polling a parts order's line statuses: the first poll after this, doubling while nothing changes, up to an hour.
ORMA_DMS_POLL_SECONDS = envint("ORMA_DMS_POLL_SECONDS", 30)

# --- Auth, sessions, security ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin login lockout (django-axes, orma.lockout): after ORMA_ADMIN_LOGIN_FAILURES failures of one username
# from one address, or from one address, the login answers 429 "Account locked" for the cool-off; the
# support command orma_unlock_admin lifts it. Failures are kept in the database (every process sees them).
AUTHENTICATION_BACKENDS = ["orma.lockout.AdminLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("ORMA_ADMIN_LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("ORMA_ADMIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "orma.lockout.admin_client_address"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["orma.api.auth.PartnerBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["orma.api.permissions.DepartmentScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["orma.api.throttling.PartnerRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orma.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "orma.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "orma.api.schema.OrmaAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OrMa Partner API",
    "DESCRIPTION": "Repair orders, parts orders and change notifications for car dealerships' workshops.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # experience (issue 13): the error and warning catalogue and the ±30-day rule in the description
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "orma.api.schema.add_catalogue"],
    # Import strings: each enum's one home is its app's choices (orma imports no domain app). Their
    # ``.values``, as the schema's enums list the values (with the values as labels).
    "ENUM_NAME_OVERRIDES": {
        "YesNoEnum": "orders.choices.YesNo.values",
        "OrderTypeEnum": "orders.choices.OrderType.values",
        "ReferenceTypeEnum": "orders.choices.ReferenceType.values",
        "RepairOrderStatusEnum": "orders.choices.RepairOrderStatus.values",
        "DeliveryStatusEnum": "notifications.models.DeliveryStatus.values",  # notifications (issue 10)
    },
}

# Partner access. Lockout: failures per username / per client address within the window.
ORMA_AUTH_FAIL_WINDOW_SECONDS = envint("ORMA_AUTH_FAIL_WINDOW_SECONDS", 300)
ORMA_AUTH_FAIL_LIMIT_USERNAME = envint("ORMA_AUTH_FAIL_LIMIT_USERNAME", 10)
ORMA_AUTH_FAIL_LIMIT_ADDRESS = envint("ORMA_AUTH_FAIL_LIMIT_ADDRESS", 100)
ORMA_TRUSTED_PROXIES = envlist("ORMA_TRUSTED_PROXIES", [])
ORMA_PARTNER_RATE_LIMIT = envstr("ORMA_PARTNER_RATE_LIMIT", "600/minute")
# Every list page (and history page) ends early once its rows pass this many bytes of JSON; next continues.
ORMA_PAGE_BYTE_BUDGET = envint("ORMA_PAGE_BYTE_BUDGET", 4 * 1024 * 1024)
# An Idempotency-Key claimed this long ago without an answer belongs to a request that died: taken over.
ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS = envint("ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS", 60)
# Anonymous requests to the open pages (/api/schema/, /api/docs/), per client address (hardening).
ORMA_ANON_RATE_LIMIT = envstr("ORMA_ANON_RATE_LIMIT", "60/minute")
# How long a verified partner record may be served from the cache; rotation and admin edits evict it.
ORMA_CREDENTIAL_CACHE_SECONDS = envint("ORMA_CREDENTIAL_CACHE_SECONDS", 60)
# On Redis, each process keeps the credentials, grants and lockout counts it read, dropped by every change's
# announcement (orma/nearcache.py): a warm authenticated request makes no round trip. 0: read Redis each time.
ORMA_NEAR_CACHE = envbool("ORMA_NEAR_CACHE", True)
# Rate-limit hits a process adds up before sending them to Redis (at most a tenth of the limit; at every hit
# within a batch of the limit); 1: every hit at once, exact across processes (orma/api/counters.py).
ORMA_RATE_LIMIT_BATCH = envint("ORMA_RATE_LIMIT_BATCH", 32)

# Change notifications (DESIGN §7). Private and loopback endpoints (and plain http) only in development
# and tests: every other address is refused when a subscription is saved and again at connect time.
ORMA_WEBHOOK_ALLOW_PRIVATE = envbool("ORMA_WEBHOOK_ALLOW_PRIVATE", False)
ORMA_WEBHOOK_TIMEOUT_SECONDS = envfloat("ORMA_WEBHOOK_TIMEOUT_SECONDS", 15.0)  # the whole request, not per read
ORMA_WEBHOOK_MAX_IN_FLIGHT = envint("ORMA_WEBHOOK_MAX_IN_FLIGHT", 4)  # requests at once per subscription
ORMA_WEBHOOK_LEASE_SECONDS = envint("ORMA_WEBHOOK_LEASE_SECONDS", 60)  # > the timeout; then a dead worker's row returns
ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS = envint("ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS", 24)  # both secrets sign
ORMA_WEBHOOK_DISABLE_AFTER_DAYS = envint("ORMA_WEBHOOK_DISABLE_AFTER_DAYS", 5)  # failing without a success
ORMA_WEBHOOK_RETENTION_DAYS = envint("ORMA_WEBHOOK_RETENTION_DAYS", 30)  # the delivery log
ORMA_WEBHOOK_SWEEP_SECONDS = envint("ORMA_WEBHOOK_SWEEP_SECONDS", 5)
ORMA_WEBHOOK_BATCH_SIZE = envint("ORMA_WEBHOOK_BATCH_SIZE", 16)  # due deliveries of a subscription per attempt
# Doorbells published by a background thread after commit (a create does not wait for the broker); off: inline
ORMA_WEBHOOK_DOORBELL_THREAD = envbool("ORMA_WEBHOOK_DOORBELL_THREAD", True)
# The outbox's doorbells (the DMS pushes: orma.outbox.ring) likewise, from a thread of their own; off: inline
ORMA_OUTBOX_DOORBELL_THREAD = envbool("ORMA_OUTBOX_DOORBELL_THREAD", True)
# The delays (seconds) of the retries after the first attempt; empty: Standard Webhooks' schedule
# (notifications.delivery.RETRY_SCHEDULE: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h). Tests shorten it.
ORMA_WEBHOOK_RETRY_SCHEDULE = [float(step) for step in envlist("ORMA_WEBHOOK_RETRY_SCHEDULE", [])]
# Webhook delivery runs on a queue of its own, served by a thread-pool worker (Procfile "webhooks").
CELERY_TASK_ROUTES = {"notifications.*": {"queue": "webhooks"}}

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation_id": {"()": "orma.logging.CorrelationIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [cid=%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["correlation_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Every 4xx is answered in the family's shape and logged by OrMa itself, with its errorUID.
        "django.request": {"level": "ERROR"},
    },
}

# --- Periodic tasks (celery beat) ------------------------------------------------------------------
CELERY_BEAT_SCHEDULE = {
    "parts-purge-closed-orders": {"task": "parts.purge_parts_orders", "schedule": 6 * 60 * 60},
    "idempotency-purge-expired-keys": {"task": "orma.purge_idempotency_keys", "schedule": 60 * 60},
    "dms-sweep": {"task": "dms.sweep", "schedule": ORMA_DMS_SWEEP_SECONDS},
    # webhook delivery (notifications.tasks, on the "webhooks" queue)
    "notifications-sweep": {"task": "notifications.sweep", "schedule": ORMA_WEBHOOK_SWEEP_SECONDS},
    "notifications-purge": {"task": "notifications.purge", "schedule": 60 * 60},
    "notifications-disable-failing": {"task": "notifications.disable_failing", "schedule": 60 * 60},
}
