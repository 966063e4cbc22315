"""bench/README.md: the table, growth across sizes, what falls short and why, the machine and the data.

Every run also writes its rows as JSON next to its Markdown (README.json, results-1m.json …): the
README's growth table adds the sizes measured by other runs (e.g. `BENCH_SIZE=1m … --out
bench/results-1m.md`), each marked with the run it comes from.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .measure import Row

HERE = Path(__file__).resolve().parent


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _size_key(label: str) -> int:
    from fixtures.synthetic_large import parse_size

    try:
        return parse_size(label.split()[0].lower())
    except ValueError:
        return 0


def _ordered(rows: list[Row]) -> list[Row]:
    order: dict[str, int] = {}
    for row in rows:
        order.setdefault(row.workload, len(order))
    return sorted(rows, key=lambda r: (order[r.workload], _size_key(r.size)))


def table(rows: list[Row]) -> str:
    head = "| workload | data size | ours | peer | ratio | target | met? |\n|---|---|---|---|---|---|---|\n"
    body = [
        "| " + " | ".join(_cell(x) for x in (r.workload, r.size, r.ours, r.peer, r.ratio, r.target, r.met)) + " |"
        for r in _ordered(rows)
    ]
    return head + "\n".join(body) + "\n"


def notes(rows: list[Row]) -> str:
    return "\n".join(f"- **{r.workload}, {r.size}** — " + "; ".join(r.notes) for r in _ordered(rows) if r.notes) + "\n"


def growth(rows: list[Row], others: list[tuple[str, list[Row]]]) -> str:
    """Ours and the peer per workload across every size measured (this run, then other runs' sizes)."""
    sizes = {r.size: "" for r in rows}
    merged = list(rows)
    for source, extra in others:
        for r in extra:
            if r.size not in sizes:
                merged.append(r)
        for r in extra:
            sizes.setdefault(r.size, source)
    columns = sorted(sizes, key=_size_key)
    if len(columns) < 2:
        return "Only one size was measured in this run; `--sizes 10k,100k` (the default) shows the growth.\n"
    cell: dict[tuple[str, str], str] = {}
    for r in merged:
        cell[(r.workload, r.size)] = f"{r.ours} / {r.peer}"
    workloads = list(dict.fromkeys(r.workload for r in _ordered(merged)))
    head = "| workload (ours / peer) | " + " | ".join(
        c + (f" ({sizes[c]})" if sizes[c] else "") for c in columns
    ) + " |\n|---|" + "---|" * len(columns) + "\n"  # fmt: skip
    body = [f"| {_cell(w)} | " + " | ".join(_cell(cell.get((w, c), "—")) for c in columns) + " |" for w in workloads]
    return head + "\n".join(body) + "\n"


def _other_runs(path: Path) -> list[tuple[str, list[Row]]]:
    out = []
    for sidecar in sorted(HERE.glob("results-*.json")):
        if sidecar.with_suffix(".md") == path:
            continue
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        label = f"[{sidecar.with_suffix('.md').name}]({sidecar.with_suffix('.md').name}), {data.get('date', '')}"
        out.append((label, [Row(**r) for r in data.get("rows", [])]))
    return out


def write(path: Path, rows: list[Row], info: dict, areas: dict, timings: dict, command: str) -> None:
    from . import narrative

    machine = "\n".join(f"- {k}: {v}" for k, v in info.items())
    loads = "; ".join(f"{size}: {t['load']:.1f} s" for size, t in timings.items())
    steps = "\n".join(
        f"- {size}: " + ", ".join(f"{name} {sec:.0f} s" for name, sec in t.items() if name != "load")
        for size, t in timings.items()
    )
    missed = [r for r in rows if r.met.startswith("no") or "no (" in r.met]
    others = _other_runs(path)
    text = narrative.PAGE.format(
        command=command,
        date=info.get("date", ""),
        machine=machine,
        townships=areas.get("township", 0),
        villages=areas.get("village", 0),
        grids=areas.get("grid", 0),
        mining=areas.get("miningarea", 0),
        parcels=areas.get("parcel", 0),
        loads=loads,
        table=table(rows),
        notes=notes(rows),
        growth=growth(rows, others),
        steps=steps,
        missed=narrative.missed(missed),
        other_runs=narrative.other_runs(others),
        served=narrative.served(path.parent / "LOAD.md"),
    )
    path.write_text(text, encoding="utf-8")
    sidecar = path.with_suffix(".json")
    sidecar.write_text(
        json.dumps({"date": info.get("date", ""), "command": command, "rows": [asdict(r) for r in rows]}, indent=1,
                   ensure_ascii=False) + "\n",
        encoding="utf-8",
    )  # fmt: skip
