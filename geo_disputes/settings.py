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


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
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
    "rest_framework.authtoken",
    "rest_framework_gis",
    "geo_disputes",
    "maps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.config(engine="django.contrib.gis.db.backends.postgis")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": os.environ.get("PGDATABASE_NAME", "geo_disputes"),
            "USER": "postgres",
            "HOST": str(BASE_DIR / ".pgdata"),
            "PORT": os.environ.get("PGPORT", "54329"),
        }
    }
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel test runs (several checkouts or sessions on one cluster) pick distinct names.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_geo_disputes")}

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
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_root"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# GDAL 3.6 (Debian 12) is older than Django 5.2 supports officially (gis.W001). Every
# GDAL call we make (OGR reading, SRS transforms) is covered by tests on this version.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# The banner this deployment serves; points outside its outline are refused.
BANNER_CODE = os.environ.get("BANNER_CODE", "150622")
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
