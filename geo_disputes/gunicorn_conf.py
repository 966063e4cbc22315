"""gunicorn settings for `make run` (bin/serve): sized to the machine, bounded connections, logs under log/.

Why these numbers: requests here are short look-ups that wait on PostgreSQL, so a few processes (one per core,
plus one) each with threads keep the cores busy while others wait. Every thread keeps one persistent database
connection (CONN_MAX_AGE), so one server holds at most workers × threads connections; that is checked below
against WEB_MAX_DB_CONNECTIONS (default 40 of the local cluster's 100, leaving room for the scheduler, the
commands, a second server during an upgrade and psql). Raise both together, never one alone.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path(os.environ.get("GD_LOG_DIR", str(ROOT / "log")))
LOG_DIR.mkdir(parents=True, exist_ok=True)

workers = int(os.environ.get("WEB_WORKERS", str(min(multiprocessing.cpu_count() + 1, 9))))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
max_connections = int(os.environ.get("WEB_MAX_DB_CONNECTIONS", "40"))
if workers * threads > max_connections:
    raise SystemExit(
        f"gunicorn: {workers} workers × {threads} threads would hold {workers * threads} database connections, "
        f"more than WEB_MAX_DB_CONNECTIONS={max_connections}; lower WEB_WORKERS/WEB_THREADS or raise the limit "
        "(below PostgreSQL's max_connections)"
    )
keepalive = 30  # phones on a weak signal reuse one connection for the map's several requests
timeout = 60
graceful_timeout = 20
max_requests = 5000  # a worker is replaced now and then, so a slow leak never grows for weeks
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "geo-disputes"
# gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): two checkouts, or a
# test's server beside `make run`, would fight over it, and nothing here uses it.
control_socket_disable = True
# The access log names the path, never the query string: a query can carry a search for a name or an exact point.
access_log_format = '%(h)s - %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

_ROTATE = {"class": "logging.handlers.RotatingFileHandler", "maxBytes": 10 * 1024 * 1024, "backupCount": 5}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING", "handlers": ["error_file", "console"]},
    "loggers": {
        # Start-up, worker and request errors: the file, and the terminal (a short line each).
        "gunicorn.error": {"level": "INFO", "handlers": ["error_file", "console"], "propagate": False},
        # One line per request, to the file only: the terminal stays readable.
        "gunicorn.access": {"level": "INFO", "handlers": ["access_file"], "propagate": False},
    },
    "handlers": {
        "error_file": {**_ROTATE, "filename": str(LOG_DIR / "error.log"), "formatter": "generic"},
        "access_file": {**_ROTATE, "filename": str(LOG_DIR / "access.log"), "formatter": "access"},
        "console": {"class": "logging.StreamHandler", "formatter": "short", "stream": "ext://sys.stderr"},
    },
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"},
        "access": {"format": "%(message)s"},
        "short": {"format": "%(asctime)s %(levelname)s %(message)s", "datefmt": "%H:%M:%S"},
    },
}
