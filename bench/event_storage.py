"""What Dagster's event log costs per event: the stock SQLite storage against memberflow's
(orchestration/event_storage.py), on the same run, in fresh instances of their own.

    .venv/bin/python bench/event_storage.py [--events 300] [--runs 3]

Each instance runs a job whose one op reports ``--events`` asset materializations, once to warm
up and then ``--runs`` times; printed: seconds per run and milliseconds per event. Each
materialization is stored twice (the run's shard and the cross-run index), like every asset
event of a pipeline run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import dagster as dg

STORAGES = {
    "dagster SqliteEventLogStorage": "",
    "memberflow PooledSqliteEventLogStorage": (
        "event_log_storage:\n  module: orchestration.event_storage\n  class: PooledSqliteEventLogStorage\n"
    ),
}


def seconds_per_run(yaml_extra: str, events: int, runs: int) -> float:
    @dg.op
    def report():
        for i in range(events):
            yield dg.AssetMaterialization(asset_key=f"bench_{i}")
        yield dg.Output(None)

    @dg.job
    def materializations():
        report()

    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n" + yaml_extra)
        previous = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = home
        try:
            with dg.DagsterInstance.get() as instance:
                quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
                materializations.execute_in_process(instance=instance, run_config=quiet)  # warm up
                started = time.perf_counter()
                for _ in range(runs):
                    materializations.execute_in_process(instance=instance, run_config=quiet)
                return (time.perf_counter() - started) / runs
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_HOME", None)
            else:
                os.environ["DAGSTER_HOME"] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"event log storage: a run reporting {args.events} materializations, mean of {args.runs} runs")
    for name, yaml_extra in STORAGES.items():
        seconds = seconds_per_run(yaml_extra, args.events, args.runs)
        print(f"  {name:<40} {seconds:6.2f} s per run   {seconds / args.events * 1000:5.2f} ms per event")


if __name__ == "__main__":
    main()
