"""The version this process runs: read once at start-up (AppConfig.ready), so /healthz reports the code
actually loaded even after a `git pull` without a restart.

A `VERSION` file at the top of the checkout wins (a deployment from an archive, without git); else
`git rev-parse HEAD`; else "unknown".
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings

_version: str | None = None


def read_version(base: Path) -> str:
    """The commit or release of the code in `base`, never raising."""
    try:
        text = (base / "VERSION").read_text(encoding="utf-8").strip()
        if text:
            return text[:100]
    except OSError:
        pass
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=base, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def load() -> str:
    global _version
    _version = read_version(Path(settings.BASE_DIR))
    return _version


def version() -> str:
    return _version if _version is not None else load()
