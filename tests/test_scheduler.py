"""The clock runs by itself (issue 13 item 3): `run_scheduler` runs the daily jobs at 01:00 Asia/Shanghai,
at start-up if the day's run is missing, a missed day caught up once, never twice across servers; and
`GET /healthz` answers the database's state, the last completed tick and the version, without login.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from geo_disputes.models import JobRun, SupervisionAct, Unit
from geo_disputes.models.cases import Tier
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.ops import scheduler
from geo_disputes.services.ops.scheduler import Job, due_day, next_run_at, run_due, serve, slot_day
from geo_disputes.services.ops.version import read_version
from tests.factories import CaseFactory, PartyFactory

ROOT = Path(settings.BASE_DIR)
TOWNSHIP, VILLAGE = "150622104", "150622104201"
TUESDAY = dt.date(2026, 3, 10)


def sh(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A time of day in Asia/Shanghai."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STATUTE_TZ)


# --- when a job is due (no database) ------------------------------------------------------------------------------


def test_the_slot_is_the_last_one_oclock_in_shanghai():
    assert slot_day(sh(TUESDAY, 0, 59)) == TUESDAY - dt.timedelta(days=1)
    assert slot_day(sh(TUESDAY, 1, 0)) == TUESDAY
    assert slot_day(sh(TUESDAY, 23, 59)) == TUESDAY
    # 17:30 UTC on Monday is 01:30 on Tuesday in Shanghai: Tuesday's slot, whatever the server's zone.
    assert slot_day(dt.datetime(2026, 3, 9, 17, 30, tzinfo=dt.UTC)) == TUESDAY


def test_before_one_oclock_yesterdays_run_is_due_after_it_todays():
    monday = TUESDAY - dt.timedelta(days=1)
    assert due_day(sh(TUESDAY, 0, 30), last_done=monday - dt.timedelta(days=1)) == monday
    assert due_day(sh(TUESDAY, 0, 30), last_done=monday) is None
    assert due_day(sh(TUESDAY, 1, 0), last_done=monday) == TUESDAY


def test_a_day_with_a_run_does_nothing_and_a_fresh_install_runs_today():
    assert due_day(sh(TUESDAY, 9), last_done=TUESDAY) is None
    assert due_day(sh(TUESDAY, 9), last_done=None) == TUESDAY


def test_missed_days_are_caught_up_once_with_the_latest_day_only():
    """Down from Friday to Tuesday: Tuesday runs (judging all that is overdue by then), not Saturday … Monday."""
    friday = TUESDAY - dt.timedelta(days=4)
    assert due_day(sh(TUESDAY, 9), last_done=friday) == TUESDAY
    assert due_day(sh(TUESDAY, 9, 1), last_done=TUESDAY) is None  # and not twice


def test_the_next_wake_is_the_next_one_oclock_in_shanghai():
    assert next_run_at(sh(TUESDAY, 0, 30)) == sh(TUESDAY, 1)
    assert next_run_at(sh(TUESDAY, 1)) == sh(TUESDAY + dt.timedelta(days=1), 1)
    assert next_run_at(sh(TUESDAY, 23)) == sh(TUESDAY + dt.timedelta(days=1), 1)


# --- running and recording (in process) ---------------------------------------------------------------------------


class Counting:
    """A job that counts its runs, failing the first `fail` of them."""

    def __init__(self, fail: int = 0, error: type[Exception] = RuntimeError):
        self.days: list[dt.date] = []
        self.fail, self.error = fail, error

    def __call__(self, day: dt.date) -> dict:
        self.days.append(day)
        if len(self.days) <= self.fail:
            raise self.error("boom")
        return {"done": 1}


@pytest.mark.django_db
def test_a_missed_day_is_run_once_and_recorded():
    work = Counting()
    job = Job("test-job", work)
    friday = TUESDAY - dt.timedelta(days=4)
    JobRun.objects.create(job="test-job", day=friday, started_at=sh(friday, 1), finished_at=sh(friday, 1), outcome="ok")

    run = run_due(job, sh(TUESDAY, 9))
    assert run is not None and (run.day, run.outcome, run.attempts, run.summary) == (TUESDAY, "ok", 1, {"done": 1})
    assert run.started_at <= run.finished_at
    assert run_due(job, sh(TUESDAY, 12)) is None
    assert run_due(job, sh(TUESDAY + dt.timedelta(days=1), 0, 59)) is None
    assert work.days == [TUESDAY]
    assert sorted(JobRun.objects.filter(job="test-job").values_list("day", flat=True)) == [friday, TUESDAY]

    run_due(job, sh(TUESDAY + dt.timedelta(days=1), 1))
    assert work.days == [TUESDAY, TUESDAY + dt.timedelta(days=1)]


@pytest.mark.django_db
def test_a_failed_run_is_recorded_and_retried_then_completed():
    job = Job("test-job", Counting(fail=1))
    with pytest.raises(RuntimeError):
        run_due(job, sh(TUESDAY, 9))
    failed = JobRun.objects.get(job="test-job")
    assert (failed.outcome, failed.attempts, failed.summary) == ("failed", 1, {"error": "RuntimeError: boom"})

    run = run_due(job, sh(TUESDAY, 9, 5))
    assert (run.pk, run.outcome, run.attempts) == (failed.pk, "ok", 2)


@pytest.mark.django_db
def test_a_run_left_running_by_a_crash_is_run_again():
    JobRun.objects.create(job="test-job", day=TUESDAY, started_at=sh(TUESDAY, 1), runner="gone:1")
    work = Counting()
    run = run_due(Job("test-job", work), sh(TUESDAY, 9))
    assert work.days == [TUESDAY] and (run.outcome, run.attempts) == ("ok", 2)


@pytest.mark.django_db(transaction=True)
def test_the_loop_backs_off_after_a_database_error_and_runs_when_it_is_back(monkeypatch, caplog):
    monkeypatch.setattr(scheduler, "BACKOFF_FIRST_SECONDS", 0.01)
    monkeypatch.setattr(scheduler, "MIN_WAIT_SECONDS", 0.01)
    stop = threading.Event()
    work = Counting(fail=2, error=OperationalError)

    def job(day: dt.date) -> dict:
        done = work(day)
        stop.set()  # the first success ends the loop
        return done

    with caplog.at_level(logging.INFO, logger="geo_disputes.scheduler"):
        assert serve(stop, clock=lambda: sh(TUESDAY, 9), jobs={"test-job": Job("test-job", job)})
    assert len(work.days) == 3
    assert JobRun.objects.get(job="test-job").outcome == "ok"
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("test-job: failed: OperationalError: boom") == 2
    assert "test-job 2026-03-10: completed done=1" in messages


@pytest.mark.django_db
def test_once_reports_a_failed_run():
    jobs = {"test-job": Job("test-job", Counting(fail=1))}
    assert serve(threading.Event(), once=True, clock=lambda: sh(TUESDAY, 9), jobs=jobs) is False


# --- two schedulers, real processes -------------------------------------------------------------------------------


def scheduler_env(**extra: str) -> dict[str, str]:
    """`manage.py` on the test database, as the app role (what `make run` runs it as) where there is one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "PGDATABASE_NAME", "DB_ROLE", "DJANGO_SETTINGS_MODULE")
    }
    db = connection.settings_dict
    env.update(DJANGO_SETTINGS_MODULE="geo_disputes.settings", DB_ROLE="app")
    if os.environ.get("DATABASE_URL"):  # another PostGIS: the test database, as the suite connects to it
        auth = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{quote(db['HOST'] or '', safe='')}:{db['PORT']}/{db['NAME']}"
    else:
        env["PGDATABASE_NAME"] = db["NAME"]
    env.update(extra)
    return env


def start_scheduler(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_scheduler", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def overdue(transactional_db) -> list[str]:
    """20 village matters unaccepted past their 15 days on TUESDAY, committed for other processes to see."""
    committee = Unit.objects.create(code=f"VC-{VILLAGE}", name="不拉村委会", kind=Unit.Kind.VILLAGE_COMMITTEE)
    Unit.objects.create(code=f"TC-{TOWNSHIP}", name="沙圪堵镇", kind=Unit.Kind.TOWNSHIP_COMMITTEE)
    received = sh(TUESDAY - dt.timedelta(days=20), 10)
    place = {"township_code": TOWNSHIP, "village_code": VILLAGE}
    cases = [CaseFactory(tier=Tier.VILLAGE, unit=committee, received_at=received, **place) for _ in range(20)]
    return [case.reference for case in cases]


def test_two_schedulers_started_together_run_the_days_tick_once(overdue, tmp_path):
    env = scheduler_env()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [start_scheduler("--once", "--now", "2026-03-10T09:00:00+08:00", env=env, log=log) for log in logs]
    for proc, log in zip(procs, logs, strict=True):
        assert proc.wait(timeout=120) == 0, log.read_text()

    runs = list(JobRun.objects.filter(job="tick").values_list("day", "outcome", "attempts", "summary"))
    assert runs == [(TUESDAY, "ok", 1, {"supervised": 20, "skipped": 0})]
    assert JobRun.objects.filter(job="housekeeping", day=TUESDAY, outcome="ok", attempts=1).count() == 1
    acts = SupervisionAct.objects.all()
    assert acts.count() == 20 and {act.case.reference for act in acts} == set(overdue)
    texts = [log.read_text() for log in logs]
    assert sum("tick 2026-03-10: started" in text for text in texts) == 1, texts
    assert sum("tick 2026-03-10: completed supervised=20 skipped=0" in text for text in texts) == 1, texts

    assert run_due(scheduler.JOBS["tick"], sh(TUESDAY, 23)) is None  # later that day: done
    assert JobRun.objects.filter(job="tick").count() == 1 and SupervisionAct.objects.count() == 20


def test_the_scheduler_survives_a_database_outage_and_stops_on_sigterm(tmp_path):
    """No database at all (a port nothing listens on): it logs, backs off, stays up, and SIGTERM ends it."""
    log = tmp_path / "scheduler.log"
    proc = start_scheduler(env=scheduler_env(PGPORT="1", DATABASE_URL=""), log=log)
    try:
        deadline = time.monotonic() + 60
        while "retrying in 30 s" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert "tick: failed: OperationalError" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, log.read_text()
        assert "scheduler stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- /healthz -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_without_login_and_names_nobody():
    case = CaseFactory(description="王家圪楞社房屋开裂")
    PartyFactory(case=case, name="李桂兰", phone="13800001111")
    response = Client().get("/healthz")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body == {"database": "ok", "last_tick": None, "version": read_version(ROOT)}
    assert body["version"] != "unknown"  # a git checkout
    for private in ("李桂兰", "13800001111", "王家圪楞社", case.reference):
        assert private not in response.content.decode()

    finished = timezone.now()
    JobRun.objects.create(job="tick", day=TUESDAY, started_at=finished, finished_at=finished, outcome="ok")
    JobRun.objects.create(job="tick", day=TUESDAY + dt.timedelta(days=1), started_at=finished, outcome="running")
    last_tick = Client().get("/healthz").json()["last_tick"]
    assert dt.datetime.fromisoformat(last_tick) == finished and last_tick.endswith("+08:00")  # Asia/Shanghai
    assert Client().post("/healthz").status_code == 405


@pytest.mark.django_db
def test_the_runs_are_listed_in_the_admin(admin_client):
    JobRun.objects.create(job="tick", day=TUESDAY, started_at=timezone.now(), summary={"supervised": 3})
    response = admin_client.get("/admin/geo_disputes/jobrun/")
    assert response.status_code == 200 and "supervised" in response.content.decode()


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/accounts/login/").status_code == 301  # the rule it is exempt from
    assert Client().get("/healthz").status_code == 200


def test_healthz_answers_503_json_when_the_database_is_down():
    """A real process whose database is unreachable, debug off: JSON 503, not the outage page or a redirect."""
    probe = (
        "import json; from django.test import Client; r = Client().get('/healthz'); "
        "print(json.dumps([r.status_code, r['Content-Type'], r.get('Retry-After'), r.content.decode()]))"
    )
    env = scheduler_env(PGPORT="1", DATABASE_URL="", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    status, content_type, retry_after, body = json.loads(done.stdout.strip().splitlines()[-1])
    assert (status, content_type, retry_after) == (503, "application/json", "30")
    assert json.loads(body) == {"database": "unavailable", "last_tick": None, "version": read_version(ROOT)}


def test_the_version_comes_from_a_version_file_or_git_or_is_unknown(tmp_path):
    assert read_version(tmp_path) == "unknown"
    (tmp_path / "VERSION").write_text("1.4.2\n")
    assert read_version(tmp_path) == "1.4.2"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert read_version(ROOT) == head
