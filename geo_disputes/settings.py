"""Settings for geo-disputes, read from the environment.

Defaults suit the project-local PostGIS cluster that `make` starts (unix socket in
.pgdata/, port $PGPORT); DATABASE_URL points at any other PostGIS instead.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


# Debug is off unless asked for (`make dev` asks): a county's server never shows a traceback or settings.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY_FILE = Path(os.environ.get("DJANGO_SECRET_KEY_FILE", str(BASE_DIR / ".state" / "secret_key")))


def secret_key() -> str:
    """DJANGO_SECRET_KEY, else the key in SECRET_KEY_FILE — made once (owner-only, outside git) and reused, so
    sessions and signed links survive restarts without anyone having to invent and guard a key by hand."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    if not SECRET_KEY_FILE.exists():
        import secrets

        SECRET_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
    return SECRET_KEY_FILE.read_text().strip()


try:
    SECRET_KEY = secret_key()
except FileExistsError:  # two processes made it at once: the other one's key stands
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "geo_disputes",
    "maps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app server, compressed and cached
    "geo_disputes.middleware.NulInPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "geo_disputes.middleware.ChosenLanguageMiddleware",  # Chinese unless English was chosen
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "geo_disputes.middleware.DatabaseUnavailableMiddleware",
    "geo_disputes.middleware.ReplicaReadMiddleware",  # last: its process_exception runs first
]

ROOT_URLCONF = "geo_disputes.urls"
WSGI_APPLICATION = "geo_disputes.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE for <html lang>
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "geo_disputes.context_processors.menu",  # the role's menu and due counts in the header
            ]
        },
    }
]

# Database roles (README "Database roles"). The application connects as the app role, which owns nothing:
# it reads and writes rows, and may only read and append to the audit tables, so it can neither change nor
# switch off the audit trail. The owner role owns the schema: migrations, the demo load, restores, the
# benchmarks and the test suite run as the owner (DB_ROLE=owner). Locally both roles are made by
# bin/pg-cluster; with DATABASE_URL (the app's connection) set DATABASE_OWNER_URL for the owner's.
DB_ROLE = os.environ.get("DB_ROLE", "app").strip().lower()
if DB_ROLE not in {"app", "owner"}:
    raise RuntimeError(f"DB_ROLE must be 'app' or 'owner', not {DB_ROLE!r}")
DB_OWNER_ROLE = os.environ.get("DB_OWNER_ROLE", "gd_owner")


def database_settings(role: str) -> dict:
    """The connection settings of `role` ("app" or "owner"): the local cluster's socket, or the URLs."""
    url = (os.environ.get("DATABASE_OWNER_URL") if role == "owner" else "") or os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, engine="django.contrib.gis.db.backends.postgis", conn_max_age=60)
    else:
        db = {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": os.environ.get("PGDATABASE_NAME", "geo_disputes"),
            "USER": DB_OWNER_ROLE if role == "owner" else os.environ.get("DB_APP_ROLE", "gd_app"),
            # GD_PGBASE: a cluster bin/pg-cluster made elsewhere (tests/test_crash.py's throwaway one).
            "HOST": os.environ.get("GD_PGBASE") or str(BASE_DIR / ".pgdata"),
            "PORT": os.environ.get("PGPORT", "54329"),
        }
    db.setdefault("CONN_MAX_AGE", 60)
    db["CONN_HEALTH_CHECKS"] = True
    # No JIT compilation: our statements are short look-ups, map pages and window functions over at most
    # a few 10^5 rows, where compiling costs more than it saves (bench/: DBSCAN at 10k cases 120 → 31 ms).
    db.setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Parallel test runs (several checkouts or sessions on one cluster) pick distinct names.
    db["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_geo_disputes")}
    return db


DATABASES = {"default": database_settings(DB_ROLE)}


def replica_settings(primary: dict) -> dict | None:
    """A streaming replica for map and analysis reads (services/ops/replica.py): DATABASE_REPLICA_URL, or a local
    standby's socket directory and port (REPLICA_PGBASE, REPLICA_PGPORT); None when there is none."""
    url = os.environ.get("DATABASE_REPLICA_URL", "")
    if url:
        replica = dj_database_url.parse(url, engine="django.contrib.gis.db.backends.postgis", conn_max_age=60)
    elif os.environ.get("REPLICA_PGBASE"):
        replica = {**primary, "HOST": os.environ["REPLICA_PGBASE"], "PORT": os.environ.get("REPLICA_PGPORT", "54339")}
    else:
        return None
    replica.setdefault("CONN_MAX_AGE", 60)
    replica["CONN_HEALTH_CHECKS"] = True
    replica.setdefault("OPTIONS", {}).update({"options": "-c jit=off", "connect_timeout": 1})
    replica["TEST"] = {"MIRROR": "default"}  # a test run reads its own database; tests/test_replica.py makes a standby
    return replica


if replica_settings(DATABASES["default"]) is not None and DB_ROLE != "owner":
    DATABASES["replica"] = replica_settings(DATABASES["default"])
DATABASE_ROUTERS = ["geo_disputes.services.ops.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "10"))
REPLICA_PROBE_SECONDS = float(os.environ.get("REPLICA_PROBE_SECONDS", "2"))
REPLICA_RETRY_SECONDS = float(os.environ.get("REPLICA_RETRY_SECONDS", "30"))
# The role the application runs as, which migration 0015 grants row access to (the user of the app's
# connection unless DB_APP_ROLE names it); the migration leaves it alone when it is the owner itself.
DB_APP_ROLE = os.environ.get("DB_APP_ROLE") or database_settings("app")["USER"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# msgids are the Chinese text; locale/en/ holds the English catalogue (its .mo is built by `make setup`).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_root"
# With debug off, static files are served from `collectstatic`'s output with hashed names (cached for a year)
# and pre-compressed copies; with debug on (make dev, the tests) from the apps' folders as they are.
# WhiteNoise indexes static_root/ once at start; before the first `collectstatic` (a fresh clone, the tests,
# `make dev`) it looks files up per request instead of warning that the directory is missing.
WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.is_dir()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "geo_disputes.static_storage.StaticStorage"
    },
}
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an API client without a valid token gets 401 with `WWW-Authenticate: Token`.
        "geo_disputes.api.auth.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB default) answer 413, JSON nested too deeply 400.
    "DEFAULT_PARSER_CLASSES": [
        "geo_disputes.api.parsing.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "geo_disputes.api.parsing.exception_handler",
}

# Anonymous API requests are throttled (per client address, in each process's cache) — but DRF checks
# permissions before throttles, so this acts only on a view open to anonymous requests (none today):
# elsewhere an unauthenticated request gets 401 first. What an outsider can repeat, bad API tokens, is
# throttled per address in the token authentication (LOGIN_THROTTLE_* below).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["rest_framework.throttling.AnonRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": os.environ.get("DRF_ANON_THROTTLE_RATE", "120/minute")}

# Access and session security. Secure cookies, HSTS and the HTTPS redirect are on whenever the site is
# served over HTTPS (DJANGO_HTTPS, default: whenever debug is off). `make run` serves plain HTTP on the
# intranet (bin/serve sets DJANGO_HTTPS=0): a cookie marked secure would never come back over HTTP and
# nobody could log in. Behind a reverse proxy that terminates TLS set DJANGO_BEHIND_PROXY=1: Django then trusts the
# proxy's X-Forwarded-Proto (the proxy must set it and drop any a client sent) and the last
# X-Forwarded-For address for login throttling, and leaves the HTTP->HTTPS redirect to the proxy
# (DJANGO_SECURE_SSL_REDIRECT=1 keeps Django's own as well).
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS and not BEHIND_PROXY)
# A monitor probes /healthz over plain HTTP on the host itself: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_HOURS", "8")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Login throttling (accounts and admin login; geo_disputes.services.ops.login_throttle):
# - LOGIN_THROTTLE_FAILURES failed logins for one username *from one address* lock that username at
#   that address for LOGIN_THROTTLE_LOCKOUT_SECONDS after the last failure; its success there clears it;
# - LOGIN_THROTTLE_ADDRESS_FAILURES failures from one address (any usernames) lock the address as
#   long; no success clears it (a sprayer's own account does not reset it);
# - past LOGIN_THROTTLE_FAILURES failures for a username from anywhere, attempts from an address it has
#   not logged in from within LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS wait 1, 2, 4 … s (at most the lockout)
#   after its last failure; from a known address its owner is never delayed or locked by others;
# - LOGIN_THROTTLE_ADDRESS_FAILURES bad API tokens from one address refuse its tokens (429) as long.
LOGIN_THROTTLE_FAILURES = int(os.environ.get("LOGIN_THROTTLE_FAILURES", "5"))
LOGIN_THROTTLE_ADDRESS_FAILURES = int(os.environ.get("LOGIN_THROTTLE_ADDRESS_FAILURES", "20"))
LOGIN_THROTTLE_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_THROTTLE_LOCKOUT_MINUTES", "15")) * 60
LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS", "30"))

# API tokens (geo_disputes.services.ops.tokens): stored as SHA-256 of a random secret shown once,
# valid API_TOKEN_DAYS from creation, all of a user's revoked when their password changes.
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "30"))

# GDAL 3.6 (Debian 12) is older than Django 5.2 supports officially (gis.W001). Every
# GDAL call we make (OGR reading, SRS transforms) is covered by tests on this version.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# The deployment's home banner: the default for staff and cases made without a place, and the series
# REFERENCE_PREFIX numbers. A deployment may serve several banners of a city (Banner rows, each with its
# outline); points outside every banner's outline are refused.
BANNER_CODE = os.environ.get("BANNER_CODE", "150622")
REFERENCE_PREFIX = os.environ.get("REFERENCE_PREFIX", "ZGE")
# How this deployment names itself in case-exchange packages (services.cases.exchange): with BANNER_CODE it is
# the source a receiving system records, so the same case sent twice is recognised there.
EXCHANGE_SYSTEM = os.environ.get("EXCHANGE_SYSTEM", "geo-disputes")
# Date from which demo/imported boundaries are in force unless told otherwise.
DEFAULT_VALID_FROM = "2023-01-01"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Basemap under every map page (maps/basemap.py reads these): "none" (default; our own boundaries are
# the base, no request leaves the intranet), "osm", "tianditu" (needs TIANDITU_KEY) or "intranet"
# (needs MAP_TILE_URL, a Leaflet URL template such as http://tiles.gov.local/{z}/{x}/{y}.png).
MAP_BASEMAP = os.environ.get("MAP_BASEMAP", "none").strip().lower()
TIANDITU_KEY = os.environ.get("TIANDITU_KEY", "").strip()
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "").strip()

# OpenAPI schema of the API (contract written in geo_disputes/api/schema.py); docs UI served
# from the sidecar package's static files, never a CDN.
INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "geo-disputes API · 准格尔旗矛盾纠纷地图",
    "DESCRIPTION": "Cases where they happen, routed to the tier that must resolve them. Login or Token required.",
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Idempotency-Key on POSTs (services.ops.idempotency): how long a key's first answer is replayed.
# 30 days: a phone's outbox may resend a case it sent (its answer lost) after days without signal.
IDEMPOTENCY_HOURS = int(os.environ.get("IDEMPOTENCY_HOURS", "720"))
# Near-identical intake warning (services.cases.near_identical): same category, this close, this recent.
NEAR_IDENTICAL_MINUTES = int(os.environ.get("NEAR_IDENTICAL_MINUTES", "30"))
NEAR_IDENTICAL_METRES = float(os.environ.get("NEAR_IDENTICAL_METRES", "50"))

# The notices' wording (issue 15): plain-text templates an office edits (its header, unit names, wording).
NOTICE_TEMPLATE_DIR = Path(os.environ.get("NOTICE_TEMPLATE_DIR", BASE_DIR / "templates" / "notices"))
CITY_NAME = os.environ.get("CITY_NAME", "鄂尔多斯市")  # the city above the banner: re-reviews, named in notices

# Case attachments (issue 15): on disk outside the web root (never under STATIC_ROOT), content-addressed,
# served only through the scope-checked view. The backup bundles them with the database.
ATTACHMENT_ROOT = Path(os.environ.get("ATTACHMENT_ROOT", BASE_DIR / "attachments"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_MB", "50")) * 1024 * 1024
# The offline area pack a phone keeps (api/offline_pack.py): a demo village is a few hundred KB; above this the
# page keeps none and says so (a township's worth on a cheap phone's storage and a weak line is too much).
OFFLINE_PACK_BUDGET_BYTES = int(os.environ.get("OFFLINE_PACK_BUDGET_MB", "5")) * 1024 * 1024
# Files above this go through the resumable upload (chunks of at most this size) from the pages' script.
ATTACHMENT_CHUNK_BYTES = 1024 * 1024
