"""Timing, result rows and the machine description shared by every workload."""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np


@dataclass
class Row:
    """One line of the results table: our figure and the peer's, measured in the same run."""

    workload: str
    size: str  # data size, e.g. "100k cases"
    ours: str
    peer: str
    ratio: str
    target: str
    met: str  # "yes" | "no" | "n/a" | "not yet available" | ...
    notes: list[str] = field(default_factory=list)


@dataclass
class Timing:
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call, with the garbage collector settled before it."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def alternate(ours: Callable[[], object], peer: Callable[[], object], repeat: int) -> tuple[Timing, Timing]:
    """Run ours and the peer alternately `repeat` times each (after one untimed warm-up of each), so
    both see the same background load; returns their timings."""
    ours()
    peer()
    a, b = [], []
    for _ in range(repeat):
        a.append(timed(ours)[0])
        b.append(timed(peer)[0])
    return Timing(a), Timing(b)


def percentiles_ms(seconds: list[float] | np.ndarray) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=float) * 1000
    return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)}


def fmt_seconds(s: float) -> str:
    if s >= 100:
        return f"{s:.0f} s"
    if s >= 1:
        return f"{s:.1f} s"
    return f"{s * 1000:.0f} ms" if s >= 0.1 else f"{s * 1000:.1f} ms"


def fmt_ms(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def speed_ratio(ours_s: float, peer_s: float) -> str:
    """Peer time over our time, worded so the table reads at a glance."""
    if ours_s <= 0 or peer_s <= 0:
        return "—"
    r = peer_s / ours_s
    return f"{r:.2f}× faster" if r >= 1 else f"{1 / r:.2f}× slower"


def machine() -> dict[str, str]:
    """Cores, memory, CPU model, load, and the versions that matter to the figures."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal"))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "cpu": model or platform.processor() or "unknown",
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "memory": mem or "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    versions = []
    for dist in ("Django", "djangorestframework-gis", "geopandas", "shapely", "scikit-learn", "esda", "libpysal"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (missing)")
    for dist in ("folium",):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    info["libraries"] = ", ".join(versions)
    return info


def database_versions() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT split_part(version(), ' on ', 1), postgis_lib_version(), current_setting('jit')")
        pg, postgis, jit = cur.fetchone()
        cur.execute("SELECT current_setting('shared_buffers'), current_setting('work_mem')")
        shared, work = cur.fetchone()
    return f"{pg}, PostGIS {postgis} (shared_buffers {shared}, work_mem {work}, jit {jit})"
