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

Attachments (issue 15) live on disk, so a backup is one bundle: a tar holding `BACKUP.json` (format, version,
counts), `database.dump` (the pg_dump archive above) and `attachments/<sha256>` for every stored file. The tar is
not compressed: the dump is, and photos, PDFs and audio already are. A restore reads the bundle, checks every
file against its name (the SHA-256) before the database is touched, writes the files into the store (content-
addressed, so files already there stay as they are), then restores the database in one transaction. A plain
pg_dump archive from before the bundle (database only) is still restored as before.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import tarfile
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
BUNDLE_FORMAT = "geo-disputes-backup"
BUNDLE_VERSION = 1
_DUMP_MEMBER = "database.dump"
_MANIFEST_MEMBER = "BACKUP.json"
_ATTACHMENT_MEMBER = re.compile(r"attachments/([0-9a-f]{64})")


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


@dataclass(frozen=True)
class Result:
    path: Path
    database: str
    size_bytes: int
    seconds: float
    attachments: int = 0


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
    return Path(settings.BASE_DIR) / "backups" / f"{database}-{stamp}.tar"


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {message}")


def backup(output: str | Path | None = None, alias: str = "default") -> Result:
    """Dump the database and bundle it with the attachments into `output` (default backups/<db>-<stamp>.tar)."""
    from geo_disputes.services.cases import attachment_store

    database, conninfo, env = connection_args(alias)
    path = Path(output) if output else default_backup_path(database)
    if path.exists():
        raise BackupError(f"{path} already exists; choose another --output")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    dump = path.with_name(path.name + ".dump.partial")
    started = time.monotonic()
    old_umask = os.umask(0o077)
    try:
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={dump}", f"--dbname={conninfo}"],
            env,
            "pg_dump",
        )
        # Files stored after the dump's snapshot are included too (harmless: unreferenced, swept later).
        files = list(attachment_store.stored())
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "database": database,
            "made_at": timezone.now().isoformat(),
            "attachments": len(files),
            "attachment_bytes": sum(p.stat().st_size for _, p in files),
        }
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as bundle:
            _add_bytes(bundle, _MANIFEST_MEMBER, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            bundle.add(dump, arcname=_DUMP_MEMBER)
            for sha, file_path in files:
                try:
                    bundle.add(file_path, arcname=f"attachments/{sha}")
                except FileNotFoundError:
                    continue  # removed (purged) since it was listed
        partial.replace(path)
    finally:
        os.umask(old_umask)
        partial.unlink(missing_ok=True)
        dump.unlink(missing_ok=True)
    return Result(path, database, path.stat().st_size, time.monotonic() - started, len(files))


def _add_bytes(bundle: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    bundle.addfile(info, io.BytesIO(data))


NOT_A_BACKUP = "is not a backup made by manage.py backup (neither its bundle nor a pg_dump custom-format archive)"


def check_archive(path: str | Path) -> Path:
    """The path of a backup bundle or a pg_dump custom-format archive, or BackupError naming what is wrong."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(len(ARCHIVE_MAGIC)) == ARCHIVE_MAGIC:
            return path
    if not tarfile.is_tarfile(path):
        raise BackupError(f"{path} {NOT_A_BACKUP}")
    return path


def _is_bundle(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC


def _unpack(path: Path, into: Path) -> tuple[Path, int]:
    """Check the bundle, store its attachments (each verified against its SHA-256) and extract the database
    archive into `into`; (the database archive, attachments stored). Nothing of the database is touched here."""
    from geo_disputes.services.cases import attachment_store

    try:
        bundle = tarfile.open(path, "r:")
    except tarfile.TarError as exc:
        raise BackupError(f"{path} {NOT_A_BACKUP}: {exc}") from exc
    dump, stored, manifest = None, 0, None
    with bundle:
        try:
            for member in bundle:
                if not member.isfile():
                    raise BackupError(f"{path}: unexpected entry {member.name!r} (only files belong in a backup)")
                handle = bundle.extractfile(member)
                if member.name == _MANIFEST_MEMBER:
                    manifest = _manifest(path, handle.read(1_000_000))
                elif member.name == _DUMP_MEMBER:
                    dump = into / "database.dump"
                    with dump.open("wb") as out:
                        shutil.copyfileobj(handle, out, 1024 * 1024)
                elif match := _ATTACHMENT_MEMBER.fullmatch(member.name):
                    try:
                        attachment_store.put_stream(handle, expected_sha256=match[1])
                    except attachment_store.StoreError as exc:
                        raise BackupError(f"{path}: attachment {member.name} is damaged: {exc}") from exc
                    stored += 1
                else:
                    raise BackupError(f"{path}: unexpected entry {member.name!r}")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"{path}: the bundle is damaged or truncated: {exc}") from exc
    if manifest is None:
        raise BackupError(f"{path} {NOT_A_BACKUP}: no {_MANIFEST_MEMBER}")
    if dump is None:
        raise BackupError(f"{path}: the bundle holds no {_DUMP_MEMBER}")
    if stored != manifest.get("attachments", stored):
        raise BackupError(f"{path}: {manifest['attachments']} attachments announced, {stored} found (truncated?)")
    return check_archive(dump), stored


def _manifest(path: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BackupError(f"{path}: {_MANIFEST_MEMBER} is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BackupError(f"{path} {NOT_A_BACKUP}: {_MANIFEST_MEMBER} names another format")
    if manifest.get("version") != BUNDLE_VERSION:
        raise BackupError(
            f"{path}: backup bundle version {manifest.get('version')!r}; this version reads {BUNDLE_VERSION}"
        )
    return manifest


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
    """Replace the database's contents with the archive's, in one transaction; a bundle's attachments first."""
    path = check_archive(archive)
    database, conninfo, env = connection_args(alias)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gd-restore-") as work:
        os.chmod(work, 0o700)
        dump, attachments = _unpack(path, Path(work)) if _is_bundle(path) else (path, 0)
        entries = Path(work) / "entries.list"
        entries.write_text(_restore_list(dump, env, alias))
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
                str(dump),
            ],
            env,
            "pg_restore",
        )
    _grant_app_role(alias)
    return Result(path, database, path.stat().st_size, time.monotonic() - started, attachments)


def _grant_app_role(alias: str) -> None:
    """The app role's privileges on the re-created tables: the migration's rule, not the archive's ACLs."""
    grants = importlib.import_module("geo_disputes.migrations.0015_app_role_grants")
    with transaction.atomic(using=alias):
        grants.grant_app_role(connections[alias])
