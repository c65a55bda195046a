"""``memberflow``: the command line over the same Dagster definitions the UI shows (SPEC §10)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

from orchestration.settings import ConfigError, Settings, environ, load_settings


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def _settings_from_args(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        # Dagster resources read the configuration again at run time: hand them the same file.
        os.environ["MEMBERFLOW_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings(getattr(args, "config", None))
    return settings.with_paths(
        landing=getattr(args, "landing", None),
        warehouse=getattr(args, "warehouse", None),
        outbox=getattr(args, "outbox", None),
        stores=getattr(args, "stores", None),
        raw=getattr(args, "raw", None),
        pii=getattr(args, "pii", None),
        publish=getattr(args, "publish", None),
    )


def delivery_days(landing: Path) -> list[date]:
    """Every ``YYYY-MM-DD`` delivery folder under any source of the landing zone."""
    days: set[date] = set()
    if not landing.is_dir():
        return []
    for source_dir in landing.iterdir():
        if not source_dir.is_dir():
            continue
        for day_dir in source_dir.iterdir():
            try:
                days.add(date.fromisoformat(day_dir.name))
            except ValueError:
                continue
    return sorted(days)


def cmd_generate(args: argparse.Namespace) -> int:
    from generator import generate

    out = Path(args.out)
    started = time.perf_counter()
    summary = generate(out, persons=args.persons, days=args.days, start=args.start, seed=args.seed)
    elapsed = time.perf_counter() - started
    orders = summary.get("orders", {})
    total_orders = sum(orders.values()) if isinstance(orders, dict) else orders
    print(
        f"generated {args.persons} persons over {args.days} days from {args.start}: "
        f"{total_orders} orders, {summary.get('files', '?')} files in {elapsed:.1f}s → {out}"
    )
    print(f"  landing zone: {out / 'landing'}")
    print(f"  store master: {out / 'stores.csv'}")
    print(f"  ground truth: {out / 'truth'}")
    return 0


def _pipeline_range(settings: Settings, start: date | None, through: date) -> tuple[date, date]:
    days = [d for d in delivery_days(settings.landing_dir) if d <= through]
    if start is None:
        if not days:
            raise CliError(f"no delivery folder on or before {through} under {settings.landing_dir}")
        start = days[0]
    if start > through:
        raise CliError(f"--from {start} is after --through {through}")
    if start < settings.partitions_start:
        raise CliError(
            f"{start} is before business.partitions_start ({settings.partitions_start}) in "
            "memberflow.yaml: lower it to ingest older deliveries"
        )
    return start, through


class _DbtOutputFilter(io.TextIOBase):
    """dagster-dbt echoes every dbt log line to stdout; the command line shows only the lines a
    person acts on (model errors, failed tests, the final tally). The full log is in the run."""

    KEEP = ("Done. PASS=", "ERROR", "Failure in", "FAIL ", "Database Error", "Compilation Error")

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report, self.buffer_ = report, ""

    def write(self, text: str) -> int:
        self.buffer_ += text
        *lines, self.buffer_ = self.buffer_.split("\n")
        for line in lines:
            if any(marker in line for marker in self.KEEP):
                self.report(f"dbt: {line.strip()}")
        return len(text)


def _root_message(error) -> str:
    """The innermost cause of a Dagster step error, on one line (what the user can act on)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = [line.strip() for line in (error.message or "").splitlines() if line.strip(" ^~\t")]
    return lines[0] if lines else (error.cls_name or "failed")


# Dagster's own switches. A run over a range of days (BackfillPolicy.single_run()) records one
# "planned" event per asset for the whole range instead of one per asset and day (2,000 events,
# about 10 s, to ingest 400 days). What it costs: the days of a run that fails stay "missing" in
# the partition view rather than "failed" (the run itself shows the failure). Set it to false
# in the environment to keep per-day planned events.
#
# And a step's materializations of a range (one per asset and day: 22,400 for the dbt step of a
# 400-day run) reach the event log as one batch per asset: memberflow's storage writes a batch in
# two transactions instead of two per event (orchestration/event_storage.py). Set it to 0 in the
# environment to store them one by one.
DAGSTER_RUN_ENV = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
}


@contextlib.contextmanager
def _settings_in_env(settings: Settings):
    """Dagster resources read memberflow's settings at run time: hand them ours (and Dagster's
    switches above, unless the environment sets them), then restore."""
    with environ({**{k: os.environ.get(k, v) for k, v in DAGSTER_RUN_ENV.items()}, **settings.env()}):
        yield


def run_job(
    settings: Settings,
    job_name: str,
    start: date,
    through: date,
    report: Callable[[str], None] = lambda line: None,
):
    """One in-process Dagster run of a partitioned job over the days [start, through]."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    with _settings_in_env(settings):
        from assets.ingest.assets import set_progress_reporter
        from orchestration.definitions import defs

        instance = (
            dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        )
        set_progress_reporter(report)
        try:
            with contextlib.redirect_stdout(_DbtOutputFilter(report)):
                result = defs.resolve_job_def(job_name).execute_in_process(
                    instance=instance,
                    tags={
                        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
                        ASSET_PARTITION_RANGE_END_TAG: through.isoformat(),
                    },
                    run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                    raise_on_error=False,
                )
        finally:
            set_progress_reporter(None)
    if not result.success:
        failures = [
            f"{event.step_key}: {_root_message(event.step_failure_data.error)}"
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data and event.step_failure_data.error
        ]
        raise CliError(f"{job_name} failed: " + " | ".join(failures or ["see the Dagster run log"]))
    return result


def run_pipeline(settings: Settings, start: date | None, through: date, quiet: bool = False) -> dict:
    """Ingest every delivery day in [start, through], build everything as of ``through`` (one
    run of the daily pipeline job, the job the schedule launches), then emit every (audience, D)
    of the range, as the audience sensor does after each build."""
    start, through = _pipeline_range(settings, start, through)
    stdout = sys.stdout
    report = (lambda line: None) if quiet else (lambda line: print(line, file=stdout, flush=True))
    report(f"run {start} … {through}: ingest every delivery day, then build everything as of {through}")
    started = time.perf_counter()
    result = run_job(settings, "daily_pipeline_job", start, through, report)
    report(f"emit audiences {start} … {through} to {settings.outbox_dir}")
    outbox = run_job(settings, "outbox_job", start, through, report)
    elapsed = time.perf_counter() - started
    report(f"done in {elapsed:.1f}s (run {result.run_id})")
    materializations = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for run in (result, outbox)
        for event in run.get_asset_materialization_events()
    }
    return {"start": start, "through": through, "seconds": elapsed, "run_id": result.run_id,
            "outbox_run_id": outbox.run_id, "materializations": materializations,
            "check_evaluations": list(result.get_asset_check_evaluations())}


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings_from_args(args)
    if not settings.landing_dir.is_dir():
        raise CliError(f"landing directory not found: {settings.landing_dir}")
    run_pipeline(settings, args.start, args.through, quiet=args.quiet)
    from orchestration.summary import print_summary

    print_summary(settings)
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from orchestration.dbt_cli import run_dbt

    settings = _settings_from_args(args)
    dbt_args = [a for a in args.dbt_args if a != "--"]
    if not dbt_args:
        raise CliError("give dbt arguments after --, e.g. memberflow dbt -- build --select marts")
    result = run_dbt(settings, dbt_args, as_of_date=args.as_of, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memberflow", description=__doc__)
    parser.add_argument("--config", help="a YAML file overriding memberflow.yaml (also MEMBERFLOW_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a realistic demo landing zone, store master and ground truth")
    gen.add_argument("--out", required=True, help="output directory")
    gen.add_argument("--persons", type=int, default=2000)
    gen.add_argument("--days", type=int, default=60)
    gen.add_argument("--start", type=_parse_date, default=date(2024, 1, 1))
    gen.add_argument("--seed", type=int, default=42)
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="ingest every delivery through a date and build everything")
    run.add_argument("--landing", help="landing directory (default: paths.landing)")
    run.add_argument("--warehouse", help="DuckDB file (default: paths.warehouse)")
    run.add_argument("--through", type=_parse_date, required=True, help="last delivery / as-of date D")
    run.add_argument("--from", dest="start", type=_parse_date, help="first delivery date (default: earliest)")
    run.add_argument("--outbox", help="audience outbox directory (default: paths.outbox)")
    run.add_argument("--stores", help="store master CSV (default: paths.stores)")
    run.add_argument("--raw", help="raw Parquet directory (default: paths.raw)")
    run.add_argument("--pii", help="restricted PII directory (default: paths.pii)")
    run.add_argument("--publish", help="BI copy directory (default: paths.publish)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=cmd_run)

    dbt = sub.add_parser("dbt", help="run dbt with memberflow's paths and rules: memberflow dbt -- build")
    dbt.add_argument("--as-of", type=_parse_date, help="as-of date D for the build")
    dbt.add_argument("--warehouse", help="DuckDB file (default: paths.warehouse)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError) as exc:
        print(f"memberflow: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("memberflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line, the traceback only on request
        if os.environ.get("MEMBERFLOW_DEBUG"):
            raise
        print(
            f"memberflow: error: {type(exc).__name__}: {exc} (MEMBERFLOW_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
