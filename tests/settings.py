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
