"""Settings for the test suite: the project's, connected as the owner role.

pytest-django creates, migrates and drops the test database and empties it between transactional
tests with TRUNCATE, which only the owner may do; the tests' scratch databases and the manage.py
commands they start (DB_ROLE is inherited) need the owner too. What the application's own role may
and may not do is proved by tests/test_db_roles.py, which logs in as that role.
"""

import os

from geo_disputes.settings import *  # noqa: F403 — the project's settings, then the owner's connection
from geo_disputes.settings import DATABASES, database_settings

os.environ["DB_ROLE"] = "owner"
DATABASES["default"] = database_settings("owner")

# The test client speaks plain HTTP to "testserver", and templates name static files as they are in the apps
# (no `collectstatic` before a test run): the transport settings of a plain-HTTP `make run`, not of a TLS site.
# tests/test_security.py checks the production values in a process of their own.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
