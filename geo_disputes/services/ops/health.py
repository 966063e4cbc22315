"""What `GET /healthz` answers: the database's state, the last completed `tick`, and the version.

For monitors and load balancers, without login: it names no person, case or place — a state word, a
time and a commit hash. A database outage is answered here as JSON 503 (not the outage middleware's page).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from geo_disputes.services.ops.scheduler import last_completed
from geo_disputes.services.ops.version import version

logger = logging.getLogger("geo_disputes.db_outage")


def health() -> tuple[int, dict[str, str | None]]:
    """(HTTP status, body): 200 with database "ok", or 503 with "unavailable" (unreachable) or "error"."""
    try:
        done = last_completed("tick")  # one query: it proves the database answers, too
    except (OperationalError, InterfaceError) as exc:
        logger.error("healthz: database unavailable: %s: %s", type(exc).__name__, str(exc).strip())
        return 503, {"database": "unavailable", "last_tick": None, "version": version()}
    except DatabaseError as exc:  # reachable, but e.g. not migrated
        logger.error("healthz: database error: %s: %s", type(exc).__name__, str(exc).strip())
        return 503, {"database": "error", "last_tick": None, "version": version()}
    return 200, {
        "database": "ok",
        "last_tick": timezone.localtime(done).isoformat() if done else None,
        "version": version(),
    }
