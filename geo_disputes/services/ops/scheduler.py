"""The clock that runs by itself: periodic jobs once a day at 01:00 Asia/Shanghai, once across all servers.

Semantics (issue 13 item 3):
- a job's **slot** is the most recent 01:00 Asia/Shanghai at or before now; its day is that date;
- at start-up and at every wake a job runs when its slot's day has no completed run — so a server started
  after a missed day catches up **once** (the latest slot only: `tick` judges everything overdue as of that
  day, so replaying older days would add nothing), and a day with a completed run does nothing;
- **never twice**: the run happens under a PostgreSQL advisory lock per job, and the day is re-checked in
  `JobRun` after taking it, so a second server (or a second `run_scheduler`) waits, then finds the day done;
- a crash leaves the row `running` and its lock vanishes with the connection: the next wake runs the day
  again (the jobs are idempotent — `run_tick` is safe to rerun); a failed run is retried with backoff.

Why our own ~200 lines and not a task library. `procrastinate` (the PostgreSQL-native one) needs psycopg 3
beside our psycopg2, its own schema of tables, functions and triggers (the app role would need EXECUTE
grants that 0015 does not give) and a worker; its periodic tasks defer only the current tick and do not
catch a missed day up, so the catch-up and the run record would still be ours. `django-q2` with the ORM
broker polls a queue table and its schedules either replay every missed run or none. What we need is
one idempotent job a day with exactly-once across servers: that is an advisory lock and a unique row
(job, day), the same table answering `/healthz`. No queue, no second driver, nothing to grant.

The loop (`serve`) wakes at the next 01:00 or every `poll` seconds, whichever comes first (a cheap
query; it also survives clock jumps and suspends), tolerates a database outage (logs, backs off
30 s … 30 min, reconnects) and stops promptly when `stop` is set (SIGTERM/SIGINT in the command).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import close_old_connections, connection
from django.db.models import Max
from django.utils import timezone

from geo_disputes.models import IdempotentRequest, JobRun
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.cases.supervision import run_tick

logger = logging.getLogger("geo_disputes.scheduler")

RUN_AT = dt.time(1, 0)  # Asia/Shanghai
LOCK_NAMESPACE = 0x67640001  # first half of the two-int advisory lock key; the second is hashtext(job)
LOCK_POLL_SECONDS = 1.0
BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 1800.0
MIN_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Job:
    """A daily job: `run(day)` does the day's work (idempotently) and returns counts for the record."""

    name: str
    run: Callable[[dt.date], dict]


def _tick(day: dt.date) -> dict:
    report = run_tick(day)
    return {"supervised": len(report.supervised), "skipped": len(report.skipped)}


def _housekeeping(day: dt.date) -> dict:
    """Delete expired sessions (Django's `clearsessions`) and expired idempotency answers; sweep abandoned
    resumable uploads and attachment files nothing references (a rolled-back upload's, a day old)."""
    from geo_disputes.services.cases.attachments import sweep

    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    answers, _ = IdempotentRequest.objects.filter(expires_at__lte=now).delete()
    swept = sweep(now)
    return {
        "sessions_deleted": sessions,
        "idempotent_requests_deleted": answers,
        "upload_sessions_deleted": swept["upload_sessions"],
        "attachment_files_deleted": swept["files"],
    }


JOBS: dict[str, Job] = {job.name: job for job in (Job("tick", _tick), Job("housekeeping", _housekeeping))}


# --- when ---------------------------------------------------------------------------------------------------------


def slot_day(now: dt.datetime) -> dt.date:
    """The day of the most recent 01:00 Asia/Shanghai at or before `now`."""
    local = now.astimezone(STATUTE_TZ)
    return local.date() if local.time() >= RUN_AT else local.date() - dt.timedelta(days=1)


def due_day(now: dt.datetime, last_done: dt.date | None) -> dt.date | None:
    """The day to run for at `now`, given the last day completed; None when the current slot is done."""
    day = slot_day(now)
    return None if last_done is not None and last_done >= day else day


def next_run_at(now: dt.datetime) -> dt.datetime:
    """The first 01:00 Asia/Shanghai strictly after `now`."""
    local = now.astimezone(STATUTE_TZ)
    at = dt.datetime.combine(local.date(), RUN_AT, tzinfo=STATUTE_TZ)
    return at if at > local else dt.datetime.combine(local.date() + dt.timedelta(days=1), RUN_AT, tzinfo=STATUTE_TZ)


# --- the record ---------------------------------------------------------------------------------------------------


def last_done_day(job: str) -> dt.date | None:
    return JobRun.objects.filter(job=job, outcome=JobRun.Outcome.OK).aggregate(day=Max("day"))["day"]


def last_completed(job: str) -> dt.datetime | None:
    """When the job's latest completed run finished (for /healthz)."""
    return JobRun.objects.filter(job=job, outcome=JobRun.Outcome.OK).aggregate(at=Max("finished_at"))["at"]


def _runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _start(job: str, day: dt.date) -> JobRun:
    """Claim (job, day) as running: a new row, or the retry of a failed or crashed one."""
    run, created = JobRun.objects.get_or_create(
        job=job, day=day, defaults={"started_at": timezone.now(), "runner": _runner()}
    )
    if not created:
        run.attempts += 1
        run.started_at, run.finished_at, run.runner = timezone.now(), None, _runner()
        run.outcome, run.summary = JobRun.Outcome.RUNNING, {}
        run.save()
    return run


def _finish(run: JobRun, outcome: str, summary: dict) -> None:
    run.outcome, run.summary, run.finished_at = outcome, summary, timezone.now()
    run.save(update_fields=["outcome", "summary", "finished_at"])


# --- running ------------------------------------------------------------------------------------------------------


@contextmanager
def job_lock(job: str, stop: threading.Event) -> Iterator[bool]:
    """Hold the job's session advisory lock (waiting for another holder); yields False if stopped first.

    Polled with pg_try_advisory_lock so a SIGTERM is not stuck behind another server's run. The lock
    dies with the connection, so a crashed holder never blocks the others.
    """
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, job])
            if cursor.fetchone()[0]:
                break
            if stop.wait(LOCK_POLL_SECONDS):
                yield False
                return
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_NAMESPACE, job])
        except Exception:  # the connection is gone, and the lock with it
            connection.close()


def run_due(job: Job, now: dt.datetime, stop: threading.Event | None = None) -> JobRun | None:
    """Run `job` for its due day if no server has; the run's record, or None when nothing was due."""
    stop = stop or threading.Event()
    if due_day(now, last_done_day(job.name)) is None:
        return None
    with job_lock(job.name, stop) as held:
        day = due_day(now, last_done_day(job.name))  # another server may have run it while we waited
        if not held or day is None:
            return None
        run = _start(job.name, day)
        logger.info("%s %s: started (attempt %d)", job.name, day, run.attempts)
        try:
            summary = job.run(day)
        except Exception as exc:
            try:
                _finish(run, JobRun.Outcome.FAILED, {"error": f"{type(exc).__name__}: {exc}"[:1000]})
            except Exception:  # the database went away: the row stays `running`, retried all the same
                connection.close()
            raise
        _finish(run, JobRun.Outcome.OK, summary)
    logger.info("%s %s: completed %s", job.name, day, " ".join(f"{k}={v}" for k, v in summary.items()))
    return run


def serve(
    stop: threading.Event,
    *,
    once: bool = False,
    clock: Callable[[], dt.datetime] = timezone.now,
    poll: float = 300.0,
    jobs: dict[str, Job] | None = None,
) -> bool:
    """Run due jobs now and at every wake until `stop` is set (or once); False if a run failed."""
    jobs = JOBS if jobs is None else jobs
    failures = 0
    logger.info("scheduler started: jobs %s daily at %s Asia/Shanghai", ", ".join(jobs), RUN_AT.strftime("%H:%M"))
    while not stop.is_set():
        close_old_connections()  # as a request would: drop a connection past its age or found unusable
        failed = False
        for job in jobs.values():
            if stop.is_set():
                break
            try:
                run_due(job, clock(), stop)
            except Exception as exc:  # a database outage or a failing job: log, back off, retry
                failed = True
                logger.error("%s: failed: %s: %s", job.name, type(exc).__name__, str(exc).strip()[:500])
                connection.close()
        if once:
            return not failed
        failures = failures + 1 if failed else 0
        if failures:
            wait = min(BACKOFF_FIRST_SECONDS * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)
            logger.warning("retrying in %d s", wait)
        else:
            now = clock()
            wait = min((next_run_at(now) - now).total_seconds(), poll)
        stop.wait(max(wait, MIN_WAIT_SECONDS))
    logger.info("scheduler stopped")
    return True
