"""A brand's first run, timed: ``memberflow run`` over every delivery day into an empty warehouse,
with a new Dagster instance on disk configured as production's (``orchestration/dagster.yaml``).

    .venv/bin/python bench/first_run.py --persons 100000 --days 400 [--out bench/out] [--stock]

The data is what ``bench/run --keep`` generated in ``<out>/p<persons>_d<days>/data``; it is
generated the same way (seed 7) when missing. The run writes under ``<out>/.../first_run/``.
Printed: wall and CPU seconds and peak RSS of the whole run, the time by part (run start,
ingest, the dbt step and the events it stored after dbt, forget step + BI copy, outbox), and
the events stored.

``--stock`` runs it with Dagster's own event log storage and ``DAGSTER_EVENT_BATCH_SIZE=0``
(events stored one at a time, as before 3b76e6b), for a side-by-side comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run_bench import (  # noqa: E402
    PRELUDE,
    add_size_arguments,
    bench_dir,
    generate_stage,
    pipeline_env,
    run_stage,
)


def parts(steps: dict[str, float]) -> dict[str, float]:
    """The steps of the pipeline and outbox runs (bench.floors.step_seconds) summed per part."""

    def total(prefix: str) -> float:
        return sum(seconds for step, seconds in steps.items() if step.startswith(prefix) and ": " not in step)

    return {
        "run start": steps.get("daily_pipeline_job start", 0.0),
        "ingest": total("raw__"),
        "dbt step": steps.get("memberflow_dbt_assets", 0.0),
        "  of which after dbt (storing its events)": steps.get("memberflow_dbt_assets: after dbt", 0.0),
        "forget step + BI copy": total("privacy__") + total("publish__"),
        "outbox run": total("outbox"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_size_arguments(parser)
    parser.add_argument("--stock", action="store_true", help="Dagster's own event storage, no batches")
    args = parser.parse_args()

    out = bench_dir(args)
    data, run_dir = out / "data", out / "first_run"
    first = date.fromisoformat(args.start)
    last = first + timedelta(days=args.days - 1)
    shutil.rmtree(run_dir, ignore_errors=True)
    home = run_dir / "dagster_home"
    home.mkdir(parents=True)
    if args.stock:
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    else:
        shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    env = {**pipeline_env(data, run_dir), "DAGSTER_HOME": str(home)}
    env.pop("DAGSTER_EVENT_BATCH_SIZE", None)  # memberflow run's default, unless --stock
    if args.stock:
        env["DAGSTER_EVENT_BATCH_SIZE"] = "0"
    if not (data / "landing").is_dir():
        generate_stage(data, args, env)

    result_file = run_dir / "steps.json"
    code = PRELUDE + (
        "from orchestration.cli import run_pipeline\n"
        f"r = run_pipeline(s, date.fromisoformat({first.isoformat()!r}), date.fromisoformat({last.isoformat()!r}), quiet=True)\n"
        "import dagster as dg\nfrom bench.floors import step_seconds\n"
        "ids = [r['run_id'], r['outbox_run_id']]\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    events = sum(len(i.all_logs(run_id)) for run_id in ids)\n"
        f"Path({str(result_file)!r}).write_text(json.dumps({{'steps': step_seconds(ids), 'events': events}}))\n"
    )
    run = run_stage("first run", code, env, result_file)
    steps, events = run["result"]["steps"], run["result"]["events"]
    storage = "Dagster's own event storage, events one by one" if args.stock else "orchestration/dagster.yaml"
    print(f"\nmemberflow first run: {args.persons:,} persons × {args.days} days ({first} … {last}), {storage}")
    print(f"{'whole run':<44} {run['seconds']:8.1f} s wall {run['cpu_seconds']:8.1f} s cpu "
          f"{run['peak_rss_mb']:8,.0f} MB peak")
    for part, seconds in parts(steps).items():
        print(f"{part:<44} {seconds:8.1f} s")
    print(f"{'events stored':<44} {events:8,}")
    (run_dir / "results.json").write_text(json.dumps({**run, "parts": parts(steps), "stock": args.stock}, default=str))


if __name__ == "__main__":
    main()
