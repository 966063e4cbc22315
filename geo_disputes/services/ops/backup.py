"""Backup and restore of the configured database with pg_dump / pg_restore.

The connection comes from settings.DATABASES (the project cluster's unix socket, or whatever
DATABASE_URL names), passed to the PostgreSQL tools as a libpq connection string; a password
travels in PGPASSWORD, never on a command line. A backup is pg_dump's custom format (-Fc,
compressed, restorable selectively), written next to its final name and renamed only when
complete, readable by its owner only: it holds petitioners' personal data.

A restore replaces the database's contents in ONE transaction (pg_restore --single-transaction
--clean --if-exists --no-owner): it either completes or leaves the database as it was. Stop the
application first, or the DROP TABLEs wait for its connections. It runs as the owner role
(DB_ROLE=owner): the application's role may not drop tables. Extensions the database already has
(PostGIS, created by the superuser in template1) are left as they are, with their own tables'
rows (spatial_ref_sys): only a superuser could drop and re-create them, and nothing of ours is in them.
The archive's privileges are not restored (--no-acl: its role names may not exist here); the app
role's grants are applied afresh afterwards by migration 0015's `grant_app_role`.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

# psycopg2 OPTIONS that are libpq connection keywords (others, e.g. isolation_level, are Django's);
# DATABASE_URL's ?host=/socket/dir&port=N lands here too.
_LIBPQ_OPTIONS = (
    "host",
    "port",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "connect_timeout",
    "options",
    "application_name",
    "target_session_attrs",
    "service",
    "passfile",
)
ARCHIVE_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


@dataclass(frozen=True)
class Result:
    path: Path
    database: str
    size_bytes: int
    seconds: float


def _quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def connection_args(alias: str = "default") -> tuple[str, str, dict[str, str]]:
    """(database name, libpq connection string, environment) for the tools, from settings."""
    db = settings.DATABASES[alias]
    params = {"dbname": db["NAME"], "host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER")}
    options = db.get("OPTIONS") or {}
    params.update({key: options[key] for key in _LIBPQ_OPTIONS if options.get(key) not in (None, "")})
    conninfo = " ".join(f"{key}={_quote(value)}" for key, value in params.items() if value not in (None, ""))
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return str(db["NAME"]), conninfo, env


def _tool(name: str) -> str:
    candidates = [Path(os.environ["PGBIN"]) / name] if os.environ.get("PGBIN") else []
    found = shutil.which(name)
    candidates += [Path(found)] if found else []
    candidates.append(Path("/usr/lib/postgresql/15/bin") / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise BackupError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client-15) or set PGBIN")


def default_backup_path(database: str) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.BASE_DIR) / "backups" / f"{database}-{stamp}.dump"


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {message}")


def backup(output: str | Path | None = None, alias: str = "default") -> Result:
    """Dump the database to `output` (default backups/<database>-YYYYmmdd-HHMMSS.dump)."""
    database, conninfo, env = connection_args(alias)
    path = Path(output) if output else default_backup_path(database)
    if path.exists():
        raise BackupError(f"{path} already exists; choose another --output")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.monotonic()
    old_umask = os.umask(0o077)
    try:
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={partial}", f"--dbname={conninfo}"],
            env,
            "pg_dump",
        )
        partial.replace(path)
    finally:
        os.umask(old_umask)
        partial.unlink(missing_ok=True)
    return Result(path, database, path.stat().st_size, time.monotonic() - started)


def check_archive(path: str | Path) -> Path:
    """The path of a readable pg_dump custom-format archive, or BackupError naming what is wrong."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC:
            raise BackupError(f"{path} is not a pg_dump custom-format archive (made by manage.py backup)")
    return path


# Lines of `pg_restore --list`: "2; 3079 16384 EXTENSION - postgis", "4772; 0 0 COMMENT - EXTENSION postgis",
# "4259; 0 16697 TABLE DATA public spatial_ref_sys postgres".
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (?:EXTENSION -|COMMENT - EXTENSION) (\S+)")
_TABLE_DATA_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


def _installed_extensions(alias: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The database's extensions and their configuration tables (schema, name)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT e.extname, n.nspname, c.relname FROM pg_extension e "
            "LEFT JOIN pg_class c ON c.oid = ANY(e.extconfig) LEFT JOIN pg_namespace n ON n.oid = c.relnamespace"
        )
        rows = cursor.fetchall()
    return {name for name, _, _ in rows}, {(schema, table) for _, schema, table in rows if table}


def _restore_list(path: Path, env: dict[str, str], alias: str) -> str:
    """The archive's table of contents without the extensions the database already has (see the docstring)."""
    listed = subprocess.run(
        [_tool("pg_restore"), "--list", str(path)], env=env, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise BackupError(f"pg_restore failed: {listed.stderr.strip() or listed.returncode}")
    extensions, config_tables = _installed_extensions(alias)
    lines = []
    for line in listed.stdout.splitlines():
        extension, data = _EXTENSION_ENTRY.match(line), _TABLE_DATA_ENTRY.match(line)
        keep = not (extension and extension[1] in extensions) and not (data and data.groups() in config_tables)
        lines.append(line if keep else f";{line}")
    return "\n".join(lines) + "\n"


def restore(archive: str | Path, alias: str = "default") -> Result:
    """Replace the database's contents with the archive's, in one transaction."""
    path = check_archive(archive)
    database, conninfo, env = connection_args(alias)
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as handle:
        handle.write(_restore_list(path, env, alias))
    entries = Path(handle.name)
    try:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--no-acl",
                "--no-password",
                f"--use-list={entries}",
                f"--dbname={conninfo}",
                str(path),
            ],
            env,
            "pg_restore",
        )
    finally:
        entries.unlink(missing_ok=True)
    _grant_app_role(alias)
    return Result(path, database, path.stat().st_size, time.monotonic() - started)


def _grant_app_role(alias: str) -> None:
    """The app role's privileges on the re-created tables: the migration's rule, not the archive's ACLs."""
    grants = importlib.import_module("geo_disputes.migrations.0015_app_role_grants")
    with transaction.atomic(using=alias):
        grants.grant_app_role(connections[alias])
