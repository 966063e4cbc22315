"""Intake rate with durable commits vs synchronous_commit=off (issue 19), on a throwaway cluster.

    .venv/bin/python -m bench.intake_durability [--seconds 10] [--clients 4] [--rounds 2]

Makes a cluster of its own with bin/pg-cluster's options (GD_PGBASE in a temporary directory, as
tests/test_crash.py does), migrates it, seeds the test places and one banner administrator, starts
`manage.py runserver --noreload` as the app role, and has `--clients` threads POST /api/cases/ for
`--seconds`, alternating the cluster's synchronous_commit between on (what `make run` serves) and off
(what it served before issue 19) by ALTER SYSTEM + reload, `--rounds` times each. Prints a markdown table;
the cluster is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import django
import requests

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from tests.factories import intake_body
    from tests.test_crash import _SEED, Cluster, start_server, wait_for_server

    cluster = Cluster()
    server = None
    log = cluster.base / "runserver.log"
    try:
        cluster.start()
        cluster.manage("migrate", "--noinput", "-v", "0")
        server, url = start_server(cluster, log)
        token = cluster.manage("shell", "-c", _SEED).split("token ", 1)[1].strip()
        wait_for_server(server, url, log)
        rows = []
        for round_no in range(args.rounds):
            for mode in ("on", "off"):
                conn = cluster.connect()
                with conn.cursor() as cursor:
                    cursor.execute(f"ALTER SYSTEM SET synchronous_commit = {mode}")
                    cursor.execute("SELECT pg_reload_conf()")
                conn.close()
                time.sleep(0.5)
                rows.append((mode, *post_for(url, token, args, round_no, mode, intake_body)))
        load = os.getloadavg()
        print(f"\n{args.clients} clients, {args.seconds:g} s per row; load average after: {load[0]:.2f} {load[1]:.2f}")
        print()
        print("| synchronous_commit | cases (201) | cases/s | p50 (ms) | p95 (ms) | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for mode, n, rate, p50, p95, errors in rows:
            print(f"| {mode} | {n} | {rate:.1f} | {p50:.0f} | {p95:.0f} | {errors} |")
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=30)
        cluster.destroy()


def post_for(url, token, args, round_no, mode, intake_body):
    stop = threading.Event()
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def work(client: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"
        n = 0
        while not stop.is_set():
            n += 1
            tag = f"{round_no}{'01'[mode == 'off']}{client}"
            petitioner = {"name": f"李{tag}{n}", "phone": f"138{tag}{n:05d}", "id_number": f"150622198{tag}{n:05d}1"}
            body = intake_body(description=f"吞吐测试 {tag}-{n}", petitioners=[petitioner])
            started = time.perf_counter()
            answer = http.post(f"{url}/api/cases/", json=body, timeout=60)
            with lock:
                if answer.status_code == 201:
                    times.append(time.perf_counter() - started)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=work, args=(c,)) for c in range(args.clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ms = sorted(t * 1000 for t in times) or [0.0]
    return len(times), len(times) / elapsed, statistics.median(ms), ms[int(0.95 * (len(ms) - 1))], errors[0]


if __name__ == "__main__":
    main()
