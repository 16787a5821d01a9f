"""How modelyard's run search scales: 10,000 and 100,000 runs, embedded SQLite and PostgreSQL.

Not a comparison (MLflow needs minutes per search at this size): it checks that the indexes
keep filtered, sorted searches fast as the store grows. Each run has 10 params, 10 metrics and
5 tags, like workload (d) of run.py.

    .venv/bin/python bench/tracking/search_scale.py [--runs 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from modelyard import Client, Metric

SEARCHES = {
    "two clauses + order_by, top 100": (
        "metrics.m0 > 0.5 and params.p1 = 'v1'",
        ["metrics.m1 DESC"],
        100,
    ),
    "selective metric range, top 100": ("metrics.m3 > 0.98", ["metrics.m3 DESC"], 100),
    "tag LIKE + param IN, top 100": (
        "tags.t0 LIKE 'grp-1%' and params.p2 IN ('v0', 'v3')",
        ["attributes.start_time DESC"],
        100,
    ),
    "no filter, order by metric, top 100": ("", ["metrics.m5 ASC"], 100),
}


def add_runs(client: Client, eid: str, start: int, end: int) -> None:
    """Runs number ``start`` to ``end`` - 1, each with 10 params, 10 metrics and 5 tags."""
    with Progress(transient=True) as progress:
        task = progress.add_task(f"growing to {end:,} runs", total=end - start)
        for i in range(start, end):
            run_id = client.create_run(
                eid, run_name=f"r{i}", start_time=1_700_000_000_000 + i
            ).info.run_id
            client.log_batch(
                run_id,
                metrics=[
                    Metric(f"m{j}", ((i * 7919 + j * 104729) % 1000) / 1000, 1, 0)
                    for j in range(10)
                ],
                params={f"p{j}": f"v{(i + j) % 5}" for j in range(10)},
                tags={f"t{j}": f"grp-{(i + j) % 20}" for j in range(5)},
            )
            client.set_terminated(run_id)
            if i % 1000 == 999:
                progress.advance(task, 1000)
    client.flush()


def measure(client: Client, eid: str, repeats: int = 20) -> dict[str, tuple[float, int]]:
    out = {}
    for label, (flt, order, limit) in SEARCHES.items():
        client.search_runs([eid], flt or None, order_by=order, max_results=limit)  # warm
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            page = client.search_runs([eid], flt or None, order_by=order, max_results=limit)
            times.append(time.perf_counter() - t)
        out[label] = (statistics.median(times) * 1000, len(page.runs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", default=None, help="also measure on this PostgreSQL URL")
    args = parser.parse_args()
    console = Console()
    table = Table(title="modelyard search latency (p50 of 20, ms)")
    table.add_column("store")
    table.add_column("runs", justify="right")
    for label in SEARCHES:
        table.add_column(label, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        stores = [("SQLite", f"sqlite:///{Path(tmp) / 'scale.db'}")]
        if args.postgres:
            stores.append(("PostgreSQL", args.postgres))
        for name, uri in stores:
            client = Client(uri)
            eid = client.create_experiment(f"scale-{uuid.uuid4().hex[:6]}")
            created = 0
            for target in sorted(args.runs):
                add_runs(client, eid, created, target)
                created = target
                results = measure(client, eid)
                table.add_row(
                    name, f"{target:,}", *[f"{ms:.1f} ({n})" for ms, n in results.values()]
                )
                console.print(table)
            client.close()


if __name__ == "__main__":
    main()
