"""Where attachment bytes live: a content-addressed directory outside the web root.

A file is stored under its SHA-256 (`ab/cd/abcd…`), written to a temporary name in the same directory,
flushed and renamed: a crash leaves either the whole file or none. Content addressing makes a write
idempotent (the same photo attached twice is kept once), a restore verifiable (the name is the checksum) and a
rolled-back transaction harmless (at worst an unreferenced file, which `sweep` removes after a day). Nothing
here knows about cases or roles; `services.cases.attachments` decides who may read what.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

_HEX64 = re.compile(r"[0-9a-f]{64}")
BLOCK = 1024 * 1024


class StoreError(Exception):
    """A stored file that is missing or not what its name says."""


def root() -> Path:
    return Path(settings.ATTACHMENT_ROOT)


def path_for(sha256: str) -> Path:
    if not _HEX64.fullmatch(sha256):
        raise StoreError(f"not a SHA-256: {sha256!r}")
    return root() / sha256[:2] / sha256[2:4] / sha256


def staging_dir() -> Path:
    """Partial uploads (resumable sessions) and files being checked: inside the root, so a rename is atomic."""
    path = root() / "staging"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def put_file(source: Path) -> tuple[str, int]:
    """Store the file at `source` (read, hashed, copied); (sha256, size)."""
    with source.open("rb") as handle:
        return put_stream(handle)


def put_stream(stream: BinaryIO | Iterable[bytes], expected_sha256: str | None = None) -> tuple[str, int]:
    """Store what `stream` yields; (sha256, size). With `expected_sha256` a mismatch stores nothing."""
    staging = staging_dir()
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=staging, prefix="put-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for block in _blocks(stream):
                digest.update(block)
                size += len(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        if expected_sha256 is not None and sha != expected_sha256:
            raise StoreError(f"content does not match its SHA-256 {expected_sha256} (got {sha})")
        final = path_for(sha)
        if final.exists() and final.stat().st_size == size:
            return sha, size
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(tmp, 0o600)
        tmp.replace(final)
        return sha, size
    finally:
        tmp.unlink(missing_ok=True)


def put_bytes(data: bytes) -> str:
    return put_stream([data])[0]


def open_file(sha256: str) -> BinaryIO:
    try:
        return path_for(sha256).open("rb")
    except FileNotFoundError as exc:
        raise StoreError(f"stored file {sha256} is missing") from exc


def read_bytes(sha256: str) -> bytes:
    with open_file(sha256) as handle:
        return handle.read()


def exists(sha256: str) -> bool:
    return bool(sha256) and path_for(sha256).is_file()


def remove(sha256: str) -> None:
    if sha256:
        path_for(sha256).unlink(missing_ok=True)


def stored() -> Iterator[tuple[str, Path]]:
    """Every stored file (sha256, path), staging excluded."""
    base = root()
    if not base.is_dir():
        return
    for path in sorted(base.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")):
        if path.is_file() and _HEX64.fullmatch(path.name):
            yield path.name, path


def sweep(referenced: set[str], older_than_seconds: float = 86400) -> list[str]:
    """Remove stored files no row references and staging leftovers, older than a day (a transaction that
    stored a file may still be open); the removed hashes."""
    cutoff = time.time() - older_than_seconds
    removed = []
    for sha, path in stored():
        if sha not in referenced and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(sha)
    staging = root() / "staging"
    if staging.is_dir():
        for path in staging.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
    return removed


def _blocks(stream: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(stream, "read"):
        while block := stream.read(BLOCK):
            yield block
    else:
        yield from stream
