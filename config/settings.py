"""Django settings for guildstats.

Everything comes from environment variables with safe embedded defaults: with nothing set, the
service runs on a SQLite file under ``var/`` with in-process stand-ins for Redis (a filesystem
Celery broker, an in-memory channel layer and a local-memory cache).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.database import database_config
from core.env import GuildstatsSettings, env_bool, env_float, env_int, env_list, env_str
from core.redis import NO_MAINT_NOTIFICATIONS

# the classes django-stubs makes generic (ModelAdmin[Model] in the admins) become subscriptable
# at runtime too
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GUILDSTATS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Prometheus counters are shared by the web and worker processes of a host through files here;
# prometheus_client reads the variable when first imported, which is after settings load.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

DEV_SECRET_KEY = "dev-only-insecure-guildstats-secret-key"  # noqa: S105 - refused with DEBUG=false
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

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
    "drf_spectacular_sidecar",  # Swagger UI's assets, served by us (no CDN)
    "django_celery_beat",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.discord",
    "guilds",
    "privacy",
    "directory",  # names of channels, roles, emojis and members
    "pipeline",
    "stats",
    "moderation",
    "invites",
    "ops",
    "devtools",  # `manage.py simulate`: a synthetic feed for a first look and the benchmarks
    "dashboard",  # pages for people (above the API's readers; nothing imports it)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # a database outage answers 503 with Retry-After on every page and API call, never 500
    "core.middleware.DatabaseUnavailableMiddleware",
    # static files (the admin's, the API docs') from the app itself, under uvicorn too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# --- "Login with Discord" (django-allauth) --------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# allauth reads each provider's settings as a free-form dict
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {
    "discord": {
        "APPS": [
            {
                "client_id": env_str("DISCORD_CLIENT_ID", ""),
                "secret": env_str("DISCORD_CLIENT_SECRET", ""),
            }
        ],
        "SCOPE": ["identify", "guilds"],
    }
}
SOCIALACCOUNT_STORE_TOKENS = True  # the guilds call at login needs the access token
SOCIALACCOUNT_LOGIN_ON_GET = True  # /accounts/discord/login/ goes straight to Discord
SOCIALACCOUNT_AUTO_SIGNUP = True
ACCOUNT_EMAIL_VERIFICATION = "none"
LOGIN_REDIRECT_URL = "/"  # the guild picker
LOGIN_URL = "/accounts/login/"  # Django's own login (staff), or "Login with Discord" from there
LOGOUT_REDIRECT_URL = "/"

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

DATABASES = {
    "default": database_config(os.environ.get("DATABASE_URL"), VAR_DIR / "guildstats.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # collectstatic (the Docker image), not the var/ volume
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one on every start
# Without `collectstatic` (make run, the tests) WhiteNoise serves straight from the apps' static
# folders; the Docker image collects them (compressed, with hashed names) at build time.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("GUILDSTATS_COLLECTED_STATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Redis, or embedded stand-ins ------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "guildstats",
            "OPTIONS": dict(NO_MAINT_NOTIFICATIONS),  # see core.redis
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "guildstats:asgi"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport with one fix for Celery 5.7's reconnect (config.broker says which)
    CELERY_BROKER_TRANSPORT = "config.broker:RedisTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Kombu's filesystem transport lets the web process, the worker and Beat share a queue on one
    # machine without any server; it polls, hence the short interval. config.broker mends its
    # write races (why this transport, and the soak that checks it, are there).
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    # no broadcast (remote control) traffic through files: nothing here uses it
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "store_processed": False,
        "polling_interval": 0.05,
        # broadcast (remote control) messages; kombu's default is a folder in the cwd
        "control_folder": str(_broker_dir / "control"),
    }

CELERY_TASK_DEFAULT_QUEUE = "celery"  # /health and /metrics read its length
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again ...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ... and processing is idempotent, so that is safe
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that loses the broker (Redis restarted) reconnects for as long as it takes (Celery's
# default gives up after 100 attempts, about 45 minutes, and the worker then exits); what was
# queued and lost with Redis is re-enqueued by the sweeper (config.scheduled).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes the database connection after every task unless told to reuse
# it; reconnecting (and re-creating the per-connection staging tables) per task cost more CPU
# than the processing itself under light load.
CELERY_DB_REUSE_MAX = env_int("GUILDSTATS_WORKER_DB_REUSE_MAX", 500)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("GUILDSTATS_WORKER_MAX_MEMORY_KB", 250_000)

# --- Product settings (GUILDSTATS_*; all documented in README) --------------------------------
GUILDSTATS: GuildstatsSettings = {
    # Ingest limits: a frame or body above either bound is refused whole with a clear error.
    "MAX_FRAME_BYTES": env_int("GUILDSTATS_MAX_FRAME_BYTES", 1024 * 1024),
    "MAX_BATCH_EVENTS": env_int("GUILDSTATS_MAX_BATCH_EVENTS", 5000),
    # Timestamps may run ahead of our clock by this much (bot clock skew), no more.
    "FUTURE_TOLERANCE_SECONDS": env_int("GUILDSTATS_FUTURE_TOLERANCE_SECONDS", 300),
    # Raw events older than this are refused at ingest (and, later, deleted by retention).
    "RAW_RETENTION_DAYS": env_int("GUILDSTATS_RAW_RETENTION_DAYS", 30),
    # Snapshot retention per granularity, in days (0 keeps forever).
    "SNAPSHOT_5MIN_RETENTION_DAYS": env_int("GUILDSTATS_SNAPSHOT_5MIN_RETENTION_DAYS", 30),
    "SNAPSHOT_HOURLY_RETENTION_DAYS": env_int("GUILDSTATS_SNAPSHOT_HOURLY_RETENTION_DAYS", 365),
    "SNAPSHOT_DAILY_RETENTION_DAYS": env_int("GUILDSTATS_SNAPSHOT_DAILY_RETENTION_DAYS", 0),
    # TimescaleDB only: compress hypertable chunks older than this (segmented by guild).
    "COMPRESS_AFTER_DAYS": env_int("GUILDSTATS_COMPRESS_AFTER_DAYS", 7),
    # An open voice session is closed and counted up to this many hours.
    "VOICE_SESSION_CAP_HOURS": env_float("GUILDSTATS_VOICE_SESSION_CAP_HOURS", 12.0),
    # Guilds are spread over this many serial processing streams (parallelism across workers).
    "PROCESSING_SHARDS": env_int("GUILDSTATS_PROCESSING_SHARDS", 8),
    # How many events one processing transaction takes at most (several batches can share one).
    # Only a backlog fills a chunk; a bigger one folds more of a member's events into one row
    # per table (30,000 against 10,000: 4-12 % more events/s in bench/ingest_bench.py, about
    # 15 MB more per worker process).
    "PROCESSING_CHUNK_EVENTS": env_int("GUILDSTATS_PROCESSING_CHUNK_EVENTS", 30000),
    # A batch still unprocessed after this many seconds is re-enqueued by the sweeper.
    "SWEEP_AFTER_SECONDS": env_int("GUILDSTATS_SWEEP_AFTER_SECONDS", 10),
    # /health: processing lag thresholds and the oldest acceptable worker heartbeat.
    "LAG_WARNING_SECONDS": env_float("GUILDSTATS_LAG_WARNING_SECONDS", 5.0),
    "LAG_CRITICAL_SECONDS": env_float("GUILDSTATS_LAG_CRITICAL_SECONDS", 60.0),
    "WORKER_HEARTBEAT_MAX_AGE_SECONDS": env_int("GUILDSTATS_WORKER_HEARTBEAT_MAX_AGE", 90),
    # /health: how long after a web process starts "no worker heartbeat yet" is only a warning
    "WORKER_STARTUP_GRACE_SECONDS": env_int("GUILDSTATS_WORKER_STARTUP_GRACE", 60),
    # Rows past retention are exported here (gzip JSON lines per table and day) before deletion;
    # empty: delete without exporting.
    "ARCHIVE_DIR": env_str("GUILDSTATS_ARCHIVE_DIR", ""),
    # A 5-minute bucket is filled this long after it ends, so late events land before it.
    "ROLLUP_GRACE_SECONDS": env_int("GUILDSTATS_ROLLUP_GRACE_SECONDS", 120),
    # PostgreSQL connections a fill run spreads a range of several buckets over (1: one)
    "ROLLUP_WORKERS": env_int("GUILDSTATS_ROLLUP_WORKERS", 2),
    # /health: how far behind schedule a snapshot granularity may be (warning; critical = 503)
    "AGGREGATION_LAG_WARNING_SECONDS": env_int("GUILDSTATS_AGGREGATION_LAG_WARNING_SECONDS", 600),
    "AGGREGATION_LAG_CRITICAL_SECONDS": env_int(
        "GUILDSTATS_AGGREGATION_LAG_CRITICAL_SECONDS", 3600
    ),
}

# GUILDSTATS_LOG_FORMAT=json: one JSON object per line (time, level, logger, message, and
# guild_id / batch_id where a log call gives them), for log collectors; default: plain text.
LOG_FORMAT = env_str("GUILDSTATS_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("GUILDSTATS_LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "guilds.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    # Per caller (API key or user), counted in the default cache: Redis when configured, so
    # every web process shares the count.
    "DEFAULT_THROTTLE_CLASSES": ["guilds.api.throttling.CountingRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("GUILDSTATS_API_RATE", "600/min")},
}
# Dashboard and leaderboard answers are cached this long (the issue allows at most 60 s).
API_CACHE_SECONDS = env_int("GUILDSTATS_API_CACHE_SECONDS", 30)
# Whether the worker's changes reach the web processes' cache and sockets (Redis); without it
# dashboards compute their figures fresh and poll every 2 s (dashboard.selectors).
DASHBOARD_SHARED = bool(REDIS_URL)
SPECTACULAR_SETTINGS = {
    # Swagger UI from drf-spectacular-sidecar's files, not a CDN: /api/docs/ works offline
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "guildstats API",
    "DESCRIPTION": "Discord guild statistics. Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "APPEND_COMPONENTS": {"securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer"}}},
    "SECURITY": [{"ApiKey": []}],
    # the response shapes (TypedDicts the selectors return) as components: core.shapes
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.shapes.add_shape_components",
    ],
    # Same-named choice fields with different choices: name their enums explicitly.
    "ENUM_NAME_OVERRIDES": {
        "PeriodEnum": "stats.selectors.periods.PERIODS",
        "HeatmapPeriodEnum": "stats.selectors.heatmap.HEATMAP_PERIODS",
    },
}

from config.scheduled import BEAT_SCHEDULE  # noqa: E402 - grouped with the Celery settings it feeds

CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
