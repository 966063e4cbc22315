"""`make test` fails when Chromium is missing (issue 18 item 13): browser tests error, they are not skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_BROWSER_TEST = "tests/browser/test_pages_phone_browser.py"


def _run(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GD_ALLOW_NO_BROWSER", "PYTEST_XDIST_WORKER")}
    env.update(CHROMIUM="/nonexistent/chromium", TEST_DB_NAME=f"test_gd_nobrowser_{os.getpid()}", **extra_env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-x", ONE_BROWSER_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_browser_fails_the_run():
    result = _run({})
    assert result.returncode == 1, result.stdout[-2000:]
    assert "no Chromium at /nonexistent/chromium" in result.stdout and "GD_ALLOW_NO_BROWSER" in result.stdout


def test_a_missing_browser_is_skipped_only_when_asked():
    result = _run({"GD_ALLOW_NO_BROWSER": "1"})
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" in result.stdout and "failed" not in result.stdout and "error" not in result.stdout
