"""Django settings for the benchmarks: the project's settings on the benchmark's own database.

The benchmark never touches the application database: it creates, migrates and fills its own
(`BENCH_DB_NAME`, default `gd_bench`) on the same PostgreSQL server, as the owner role, and mounts the peer views
(DRF + djangorestframework-gis) next to the product's URLs.
"""

import os

from geo_disputes.settings import *  # noqa: F403 — the project's settings, then the overrides below
from geo_disputes.settings import DATABASES, database_settings

BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "gd_bench")
# The benchmark creates, migrates and ANALYZEs its own database: it connects as the owner role.
DATABASES["default"] = database_settings("owner")
DATABASES["default"]["NAME"] = BENCH_DB_NAME
DATABASES["default"]["CONN_MAX_AGE"] = None  # one connection for the whole run, as a server process keeps one
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_gd_bench")}
ROOT_URLCONF = "bench.urls"
DEBUG = False  # no query log in connection.queries: it would grow by millions of entries
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"handlers": [], "level": "ERROR"}}
# Static files by their plain names, found where they live (runserver --insecure serves them so): the bench
# needs no `collectstatic` first. bench.browser counts them on the wire gzipped as WhiteNoise would send them.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
