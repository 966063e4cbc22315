"""`tick`, `import_areas --commit` and `link_cases` are safe to run twice and safe to interrupt (issue 6).

Each command runs as a real process (`manage.py ...`) against scratch databases of its own on the
cluster (never the dev or the test database): `gd_interrupt_<pid>` is migrated and given the seed
places; each test copies it (CREATE DATABASE ... TEMPLATE), seeds its data, and copies that into a
reference, where the command runs uninterrupted twice, and a target, where it is killed part-way
(three times for import and link, twice for tick), then run to the end. All are dropped afterwards.
The kill comes when the command is seen writing: a statement of its open transaction in
pg_stat_activity (import, link), or its events appearing (tick).
Two kinds of interrupt: SIGKILL of the process (a crash, an operator's kill -9, the machine's OOM
killer), and pg_terminate_backend of its connection (the database going away mid-statement).

What must hold, by fingerprints (counts + md5 of every row the command writes, minus timestamps and
serial ids that a rolled-back transaction legitimately consumes):
- import_areas and link_cases work in one transaction: killed, the data is exactly as before;
- tick commits case by case (supervision.run_tick records one supervision act and its event per case in
  one transaction, and never changes the case): killed, every case stops between two of its steps, never inside one: its
  history is the first k events of the uninterrupted run's and its fields are exactly what those k
  events recorded (k = 0: as before; all: as after);
- run to the end after the interrupts, the data equals one uninterrupted run's; a second run
  changes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TODAY = "2025-06-30"  # tick judges deadlines as of this day; the cases below were received months before


class Scratch:
    """One database on the test cluster, named gd_interrupt_<pid>[_suffix]; dropped by `drop`."""

    def __init__(self, suffix: str = "", template: Scratch | None = None):
        db = settings.DATABASES["default"]
        self.name = f"gd_interrupt_{os.getpid()}" + (f"_{suffix}" if suffix else "")
        self.params = {
            "host": db.get("HOST") or None,
            "port": str(db.get("PORT") or "") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
        }
        self.admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin(f"CREATE DATABASE {self.name}" + (f" TEMPLATE {template.name}" if template else ""))

    def connect(self, database: str | None = None):
        params = {k: v for k, v in self.params.items() if v is not None}
        conn = psycopg2.connect(dbname=database or self.name, **params)
        conn.autocommit = True
        return conn

    def admin(self, sql: str) -> None:
        conn = self.connect("postgres")
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def query(self, sql: str, params=None) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            conn.close()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGDATABASE_NAME")}
        if os.environ.get("DATABASE_URL"):  # another PostGIS: the same server, this database
            p = self.params
            auth = quote(p["user"] or "", safe="") + (":" + quote(p["password"], safe="") if p["password"] else "")
            env["DATABASE_URL"] = f"postgres://{auth}@{quote(p['host'] or '', safe='')}:{p['port']}/{self.name}"
        else:
            env["PGDATABASE_NAME"] = self.name
        return env

    def manage(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"manage.py {args[0]} on {self.name}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, log: Path, *args: str) -> subprocess.Popen:
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), *args], env=self.env(), cwd=ROOT, stdout=out, stderr=out
            )

    def other_backends(self) -> list[tuple[int, str, str]]:
        return self.query(
            "SELECT pid, state, query FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.name],
        )

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Until no other connection is left: a killed client's transaction is rolled back by then."""
        deadline = time.monotonic() + timeout
        while self.other_backends():
            assert time.monotonic() < deadline, f"connections left on {self.name}: {self.other_backends()}"
            time.sleep(0.02)

    def drop(self) -> None:
        """Drop it once the killed command's connections are gone: FORCE may terminate only our own role's
        backends, and a killed command's backend (another role) can linger a moment on a loaded machine."""
        try:
            self.wait_until_idle(timeout=30)
        except (AssertionError, psycopg2.Error):
            pass  # FORCE below still ends what it may; a failure then names the backend left
        self.admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@pytest.fixture
def scratches():
    made: list[Scratch] = []

    def make(suffix: str = "", template: Scratch | None = None) -> Scratch:
        if template is not None:
            template.wait_until_idle()
        made.append(Scratch(suffix, template))
        return made[-1]

    try:
        yield make
    finally:
        for db in reversed(made):
            db.drop()


def wait_for_writing(db: Scratch, proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> float:
    """Poll until `ready(db)` says the command is writing; fail if it ends first. Returns seconds waited."""
    started = time.monotonic()
    while not ready(db):
        assert proc.poll() is None, f"{what}: the command finished before it could be interrupted"
        assert time.monotonic() - started < timeout, f"{what}: not seen writing within {timeout} s"
        time.sleep(0.005)
    assert proc.poll() is None, f"{what}: the command finished before it could be interrupted"
    return time.monotonic() - started


def statement_seen(*markers: str):
    """A predicate: the command's open transaction has executed a statement containing one of `markers`
    (pg_stat_activity keeps a connection's latest statement while it is idle in its transaction)."""

    def ready(db: Scratch) -> bool:
        return any(
            state in ("active", "idle in transaction") and any(m in (query or "") for m in markers)
            for _, state, query in db.other_backends()
        )

    return ready


def sigkill(db: Scratch, proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    db.wait_until_idle()


def terminate_backend(db: Scratch, proc: subprocess.Popen) -> None:
    """The database side goes away: terminate the command's connection wherever it is."""
    # Client backends only: a parallel query's workers are listed too, and end with their leader.
    terminated = db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        [db.name],
    )
    assert terminated and all(ok for (ok,) in terminated), "the command had no connection to terminate"
    assert proc.wait(timeout=60) != 0, "the command did not notice its connection was terminated"
    db.wait_until_idle()


# --- seeding ----------------------------------------------------------------------------------------------------------

_SEED_AREAS = """
from geo_disputes.models import Banner
from tests.factories import box, seed_places
Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
seed_places()
print("seeded")
"""

_SEED_CASES = """
import datetime as dt, random
from django.contrib.gis.geos import Point
from django.db import connection
from geo_disputes.models import Case, Unit
from geo_disputes.services.cases.clock import STATUTE_TZ
spec = {spec!r}
rng = random.Random(6)
units = {{u.code: u for u in Unit.objects.all()}}
boxes = [(110.80, 39.60, 110.85, 39.70, "150622101", "150622101206"), (111.00, 39.50, 111.10, 39.60, "150622106",
         "150622106202"), (111.20, 39.80, 111.30, 39.90, "150622004", "150622004201")]
cases = []
for n in range(spec["n"]):
    x0, y0, x1, y1, township, village = boxes[n % 3]
    lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
    tier = spec["tiers"][n % len(spec["tiers"])]
    unit = {{"village": f"VC-{{village}}", "township": f"TC-{{township}}", "banner": "BL-150622"}}[tier]
    linked = spec["linked"]
    cases.append(Case(
        reference=f"ZGE-2025-{{n + 1:06d}}", category="land_occupation", channel="talk_room",
        description=f"事项{{n}}", location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat,
        received_at=dt.datetime(2025, 3, 1, 9, tzinfo=STATUTE_TZ) + dt.timedelta(minutes=n),
        status=spec["status"], tier=tier, unit=units[unit],
        township_code=township if linked else "", village_code=village if linked else "",
    ))
Case.objects.bulk_create(cases, batch_size=5000)
if spec["parcels"]:
    # A 100 x 100 grid of 0.001-degree parcels over part of each seed village: cases fall in them.
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO geo_disputes_parcel (code, name, land_use, holder_name, contract_no, valid_from, geom)"
            " SELECT format('P%s-%s-%s', b.k, i, j), format('地块%s', i * 100 + j), 'grassland', '', '',"
            " DATE '2023-01-01', ST_Multi(ST_MakeEnvelope(b.x + i * 0.0005, b.y + j * 0.001,"
            " b.x + (i + 1) * 0.0005, b.y + (j + 1) * 0.001, 4326))"
            " FROM (VALUES (1, 110.80, 39.60), (2, 111.00, 39.50), (3, 111.20, 39.80)) b(k, x, y),"
            " generate_series(0, 99) i, generate_series(0, 99) j"
        )
print("seeded", len(cases))
"""


@pytest.fixture(scope="module")
def base():
    """gd_interrupt_<pid>: migrated, with the banner, the seed places and their units (committees, banner
    leadership, court). Each test copies it and seeds its own data into the copy."""
    db = Scratch()
    try:
        db.manage("migrate", "--noinput", "-v", "0")
        assert "seeded" in db.manage("shell", "-c", _SEED_AREAS).stdout
        yield db
    finally:
        db.drop()


# --- link_cases -----------------------------------------------------------------------------------------------------

_LINK_FINGERPRINT = """
SELECT (SELECT count(*) FROM geo_disputes_case),
       (SELECT md5(string_agg(concat_ws('|', reference, township_code, village_code, grid_code, mining_area_code,
                                       mining_relation), ',' ORDER BY reference)) FROM geo_disputes_case),
       (SELECT count(*) FROM geo_disputes_caseparcel),
       (SELECT md5(coalesce(string_agg(concat_ws('|', c.reference, p.code, cp.source), ','
                                       ORDER BY c.reference, p.code), ''))
          FROM geo_disputes_caseparcel cp JOIN geo_disputes_case c ON c.id = cp.case_id
          JOIN geo_disputes_parcel p ON p.id = cp.parcel_id),
       (SELECT count(*) FROM geo_disputes_case WHERE village_code <> '')
"""
LINK_CASES = 6_000


def test_link_cases_killed_part_way_leaves_the_cases_as_before_and_a_rerun_equals_one_run(base, scratches, tmp_path):
    spec = {"n": LINK_CASES, "tiers": ["village"], "status": "closed", "linked": False, "parcels": True}
    seeded = scratches("link", base)
    assert "seeded" in seeded.manage("shell", "-c", _SEED_CASES.format(spec=spec)).stdout
    ref, hit = scratches("link_ref", seeded), scratches("link_hit", seeded)
    before = hit.query(_LINK_FINGERPRINT)[0]
    assert before[0] == LINK_CASES and before[2] == 0 and before[4] == 0

    ref.manage("link_cases")
    once = ref.query(_LINK_FINGERPRINT)[0]
    assert once[4] == LINK_CASES and once[2] > LINK_CASES // 3, once  # every case linked, many in a parcel
    ref.manage("link_cases")
    assert ref.query(_LINK_FINGERPRINT)[0] == once, "a second run changed the links"

    # 1. killed while the one UPDATE of every case runs ("WITH todo AS ... UPDATE": pg_stat_activity keeps only
    # a statement's first 1024 bytes); 2. killed when that UPDATE is done and the parcels are being rewritten
    # in the same transaction; 3. the database side goes away during the UPDATE.
    interrupts = [
        ("sigkill", "WITH todo AS"),
        ("sigkill", "INSERT INTO geo_disputes_caseparcel"),
        ("terminate", "WITH todo AS"),
    ]
    for kind, marker in interrupts:
        proc = hit.start(tmp_path / "link.log", "link_cases")
        waited = wait_for_writing(hit, proc, statement_seen(marker), f"link_cases ({marker})")
        print(f"link_cases: {kind} {waited:.2f} s after start, in {marker!r}")
        if kind == "sigkill":
            sigkill(hit, proc)
        else:
            terminate_backend(hit, proc)
        assert hit.query(_LINK_FINGERPRINT)[0] == before, f"{kind} during {marker!r} left a partial link"

    hit.manage("link_cases")
    assert hit.query(_LINK_FINGERPRINT)[0] == once


# --- import_areas --commit ------------------------------------------------------------------------------------------

_PARCEL_FINGERPRINT = """
SELECT count(*), md5(coalesce(string_agg(concat_ws('|', code, name, land_use, holder_name, contract_no, valid_from,
                                                  valid_to, area_mu, encode(ST_AsBinary(geom), 'hex')),
                                        ',' ORDER BY code, valid_from), ''))
FROM geo_disputes_parcel
"""
IMPORT_PARCELS = 9_000
KEPT = 3_600  # parcels of the first file the second one updates; the rest of the second file is new


def parcel_file(path: Path, count: int, version: int) -> Path:
    """`count` 40 m parcels in rows across the banner's middle; version 2 renames and re-surveys them."""
    features = []
    for n in range(count):
        lon, lat = 110.6 + (n % 500) * 0.0015, 39.6 + (n // 500) * 0.0006
        size = 0.0005 if version == 1 else 0.0006
        ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size / 2], [lon, lat + size / 2], [lon, lat]]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "code": f"150622106202JD{n:06d}",
                    "name": f"地块{n}" + ("(复测)" if version == 2 else ""),
                    "land_use": "grassland" if n % 2 else "cultivated",
                    "holder_name": f"户主{n % 997}",
                    "contract_no": f"HT-{version}-{n:06d}",
                },
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def test_import_areas_killed_part_way_leaves_the_layer_as_before_and_a_rerun_equals_one_run(base, scratches, tmp_path):
    first = parcel_file(tmp_path / "parcels-v1.geojson", KEPT, 1)
    second = parcel_file(tmp_path / "parcels-v2.geojson", IMPORT_PARCELS, 2)
    seeded = scratches("import", base)
    out = seeded.manage("import_areas", "parcels", str(first), "--commit").stdout
    assert f"Saved. {KEPT} features: {KEPT} inserted" in out, out
    ref, hit = scratches("import_ref", seeded), scratches("import_hit", seeded)
    before = hit.query(_PARCEL_FINGERPRINT)[0]
    assert before[0] == KEPT

    out = ref.manage("import_areas", "parcels", str(second), "--commit").stdout
    assert f"Saved. {IMPORT_PARCELS} features: {IMPORT_PARCELS - KEPT} inserted, {KEPT} updated" in out, out
    once = ref.query(_PARCEL_FINGERPRINT)[0]
    assert once[0] == IMPORT_PARCELS and once != before
    out = ref.manage("import_areas", "parcels", str(second), "--commit").stdout
    assert f"Saved. {IMPORT_PARCELS} features: 0 inserted, {IMPORT_PARCELS} updated" in out, out
    assert ref.query(_PARCEL_FINGERPRINT)[0] == once, "a second import changed the layer"

    # 1. killed while the features are being staged (read and written in the import's transaction);
    # 2. killed while the parcels table itself is being updated; 3. the database goes away then.
    staging = ("INSERT INTO area_import",)
    applying = ('UPDATE "geo_disputes_parcel" t SET', 'INSERT INTO "geo_disputes_parcel"')
    interrupts = [("sigkill", staging), ("sigkill", applying), ("terminate", applying)]
    for kind, markers in interrupts:
        proc = hit.start(tmp_path / "import.log", "import_areas", "parcels", str(second), "--commit")
        waited = wait_for_writing(hit, proc, statement_seen(*markers), f"import_areas ({markers[0]})")
        print(f"import_areas: {kind} {waited:.2f} s after start, in {markers[0]!r}")
        if kind == "sigkill":
            sigkill(hit, proc)
        else:
            terminate_backend(hit, proc)
        assert hit.query(_PARCEL_FINGERPRINT)[0] == before, f"{kind} during {markers[0]!r} left a partial import"

    hit.manage("import_areas", "parcels", str(second), "--commit")
    assert hit.query(_PARCEL_FINGERPRINT)[0] == once


# --- tick -------------------------------------------------------------------------------------------------------------

_CASE_STATES = """
SELECT c.reference, c.status, c.tier, coalesce(u.code, ''), c.responsible_person, c.agenda_date::text, c.version,
       coalesce((SELECT json_agg(json_build_array(e.action, e.from_status, e.to_status, e.changes - 'supervision',
                                                  e.reason, e.actor_id)
                                 ORDER BY e.id)
                 FROM geo_disputes_caseevent e WHERE e.case_id = c.id), '[]'::json)
FROM geo_disputes_case c LEFT JOIN geo_disputes_unit u ON u.id = c.unit_id
ORDER BY c.reference
"""
ROW = ("status", "tier", "unit", "responsible_person", "agenda_date", "version")
TICK_CASES = 450
SUPERVISED_BEFORE_KILL = 60


def case_states(db: Scratch) -> dict[str, tuple[dict, list]]:
    """reference -> (the fields tick changes, the case's history)."""
    return {r[0]: (dict(zip(ROW, r[1:7], strict=True)), r[7]) for r in db.query(_CASE_STATES)}


def replayed(before: tuple[dict, list], events: list) -> dict:
    """The case's fields as `before`, then each event's recorded changes ({field: [old, new]}) applied in order."""
    row = dict(before[0])
    for action, _from, _to, changes, _reason, _actor in events:
        for name, change in changes.items():
            if name not in row or name == "version":
                continue  # notes such as the missed deadline are not fields
            old, new = change
            assert row[name] == (old if old is not None or name != "unit" else ""), (name, row[name], old)
            row[name] = new if new is not None or name != "unit" else ""  # no unit: '' in the fingerprint
        if action != "supervise":  # a supervision act leaves the case as it was, version included
            row["version"] += 1
    return row


def supervisions(db: Scratch) -> int:
    return db.query("SELECT count(*) FROM geo_disputes_caseevent WHERE action = 'supervise'")[0][0]


def test_tick_killed_part_way_leaves_each_case_between_two_steps_and_a_rerun_equals_one_run(base, scratches, tmp_path):
    # Open petitions received on 1 March and never accepted: overdue on TODAY at every tier. Each gets one
    # supervision act (and its event) where it is; nothing moves.
    spec = {
        "n": TICK_CASES,
        "tiers": ["village", "township", "banner"],
        "status": "reported",
        "linked": True,
        "parcels": False,
    }
    seeded = scratches("tick", base)
    assert "seeded" in seeded.manage("shell", "-c", _SEED_CASES.format(spec=spec)).stdout
    ref, hit = scratches("tick_ref", seeded), scratches("tick_hit", seeded)
    before = case_states(hit)
    assert len(before) == TICK_CASES

    out = ref.manage("tick", "--today", TODAY).stdout
    assert f"tick {TODAY}: {TICK_CASES} supervised" in out, out[-300:]
    after = case_states(ref)
    assert all(after[r] != before[r] for r in before), "every case should be supervised in one run"
    assert all(after[r][0] == before[r][0] for r in before), "supervision moved a case"
    assert all(after[r][0] == replayed(before[r], after[r][1]) for r in before)  # the history explains the fields
    out = ref.manage("tick", "--today", TODAY).stdout
    assert f"tick {TODAY}: 0 supervised" in out, out[-300:]
    assert case_states(ref) == after, "a second tick changed cases"

    seen = []
    for kind in ("sigkill", "terminate"):
        proc = hit.start(tmp_path / "tick.log", "tick", "--today", TODAY)
        target = supervisions(hit) + SUPERVISED_BEFORE_KILL
        waited = wait_for_writing(hit, proc, lambda db, target=target: supervisions(db) >= target, f"tick ({kind})")
        if kind == "sigkill":
            sigkill(hit, proc)
        else:
            terminate_backend(hit, proc)
        states = case_states(hit)
        done = partial = 0
        for ref_no, (row, events) in states.items():
            # Each case stops between two of its steps, never inside one: its history is the first k events of
            # the uninterrupted run's, and its fields are exactly what those k events recorded (k = 0: as before).
            full = after[ref_no][1]
            assert events == full[: len(events)], f"{kind}: {ref_no} has a history the full run does not"
            assert row == replayed(before[ref_no], events), f"{kind}: {ref_no} is changed beyond its history"
            done += events == full
            partial += 0 < len(events) < len(full)
        assert 0 < done < TICK_CASES, f"{kind}: not interrupted part-way ({done} of {TICK_CASES} done)"
        seen.append((done, partial))
        print(f"tick: {kind} {waited:.2f} s after start: {done} cases done, {partial} half-way, the rest untouched")
    assert seen[0][0] < seen[1][0], seen  # the second interrupted run went on where the first stopped

    hit.manage("tick", "--today", TODAY)
    assert case_states(hit) == after
