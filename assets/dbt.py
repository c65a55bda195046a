"""The dbt project as Dagster assets: staging → identity → marts, one asset per model.

dbt runs daily-partitioned by the as-of date D: a run over a range of days is one dbt build as of
the range's last day (``BackfillPolicy.single_run()``), so a 400-day backfill is one build, not 400.
"""



import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_cli import dbt_vars_arg, prepare_warehouse, run_dbt
from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_WRITER_POOL, MemberflowConfig
from orchestration.settings import DBT_PROJECT_DIR, environ, load_settings

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"

_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "identity": "identity",
    "marts": "marts",
    "quality": "quality",
    "audiences": "audiences",
}


def _project_sources_mtime() -> float:
    newest = 0.0
    for folder in ("models", "macros", "seeds", "tests"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        newest = max(newest, (DBT_PROJECT_DIR / name).stat().st_mtime)
    return newest


def prepare_manifest(force: bool = False) -> Path:
    """``dbt parse`` when the manifest is missing or older than the project files (never committed).

    Guarded by a file lock: parallel test workers and the webserver may load definitions at once.
    """
    MANIFEST_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST_PATH.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stale = not MANIFEST_PATH.exists() or MANIFEST_PATH.stat().st_mtime < _project_sources_mtime()
        if force or stale:
            run_dbt(load_settings(), ["parse", "--quiet"], target_path=MANIFEST_PATH.parent)
    return MANIFEST_PATH


def keep_partial_parse(run_target: Path) -> None:
    """Hand the parse state of a run back to the project's target folder. dagster-dbt starts
    every run in a folder of its own from target/partial_parse.msgpack; when this run had to
    parse again (other paths or rules than the prepared manifest), the next run starts from its
    result instead of parsing the whole project again. Replaced atomically."""
    produced = Path(run_target) / "partial_parse.msgpack"
    kept = MANIFEST_PATH.parent / "partial_parse.msgpack"
    try:
        if not produced.is_file() or (kept.is_file() and kept.read_bytes() == produced.read_bytes()):
            return
        staged = kept.with_name(f".partial_parse.{os.getpid()}.msgpack")
        shutil.copyfile(produced, staged)
        os.replace(staged, kept)
    except OSError:  # a cache only: the next run parses again
        pass


def _last_activity(folder: Path) -> float:
    """When a run folder was last written: dbt appends to its dbt.log while it runs."""
    times = [folder.stat().st_mtime]
    for name in ("dbt.log", "run_results.json"):
        try:
            times.append((folder / name).stat().st_mtime)
        except OSError:
            pass
    return max(times)


def prune_run_folders(run_target: Path, keep: int, started: float) -> list[Path]:
    """Delete the run folders of this dbt asset beyond the ``keep`` last written, this run's
    included, and return them. dagster-dbt gives every run a folder of its own in target/
    (``<op>-<run id>-<uuid>``: compiled SQL, run_results.json, dbt.log; ≈ 13 MB), and never
    deletes one; a daily pipeline would add one a day for ever. A folder written after
    ``started`` (this run's start) is never deleted: it may belong to a build running beside
    this one, which appends to its dbt.log."""
    run_target = Path(run_target)
    op = run_target.name.rsplit("-", 2)[0]
    pattern = re.compile(rf"{re.escape(op)}-[0-9a-f]{{7}}-[0-9a-f]{{7}}")
    try:
        others = [
            (_last_activity(folder), folder)
            for folder in run_target.parent.iterdir()
            if folder.is_dir() and folder != run_target and pattern.fullmatch(folder.name)
        ]
    except OSError:  # housekeeping only: the next run tries again
        return []
    done = sorted((item for item in others if item[0] < started), reverse=True)
    removed = [folder for _, folder in done[max(keep - 1, 0):]]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


class MemberflowDbtTranslator(DagsterDbtTranslator):
    """Groups by layer (the folder under models/), keys by model name."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        if len(fqn) >= 2 and fqn[1] in _GROUPS:
            return _GROUPS[fqn[1]]
        return super().get_group_name(dbt_resource_props)


translator = MemberflowDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def _prune(context: AssetExecutionContext, run_target: Path, keep: int, started: float) -> None:
    removed = prune_run_folders(run_target, keep, started)
    if removed:
        context.log.info(
            f"deleted {len(removed)} older dbt run folder(s) in {Path(run_target).parent} "
            f"(warehouse.dbt_run_folders: {keep} kept)"
        )


def run_days(context: AssetExecutionContext) -> tuple[date, date]:
    """(first day, D) of this run: D is the last day of the partition range; audiences are
    computed for every day of the range in the same build."""
    if context.has_partition_key_range:
        key_range = context.partition_key_range
        return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
    last = date.fromisoformat(daily_partitions.get_last_partition_key())
    return last, last


@dbt_assets(
    manifest=prepare_manifest(),
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITER_POOL,
)
def memberflow_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, memberflow: MemberflowConfig
):
    """Build every selected model, seed and test as of D, with memberflow.yaml's rules as vars."""
    settings = memberflow.settings()
    first, as_of = run_days(context)
    # D and the first audience day go by environment too, so that the vars stay those of the
    # prepared manifest and dbt's partial parse is reused.
    # MEMBERFLOW_ROW_COUNTS: dbt logs each table's row count (macros/engine/row_counts.sql).
    with environ({**settings.env(), **settings.run_env(as_of, first), "MEMBERFLOW_ROW_COUNTS": "1"}):
        yield from _build(context, dbt, settings, first, as_of)


def _build(context: AssetExecutionContext, dbt: DbtCliResource, settings, first: date, as_of: date):
    from assets.ingest.layout import ensure_raw_layout

    ensure_raw_layout(settings.raw_dir, settings.pii_dir)
    prepare_warehouse(settings)
    context.log.info(
        f"dbt build as of {as_of} (audiences from {first}) into {settings.warehouse_path}"
    )
    # Production builds run models, seeds and data tests; dbt unit tests belong to the test suite.
    args = ["build", "--exclude-resource-type", "unit_test", *dbt_vars_arg(settings)]
    started = time.time()
    invocation = dbt.cli(args, context=context)
    if settings.engine != "duckdb":  # Spark: no row counts (they would start a Spark session)
        yield from invocation.stream()
        keep_partial_parse(invocation.target_path)
        _prune(context, invocation.target_path, settings.dbt_run_folders, started)
        return
    # DuckDB: the file is dbt's until it exits, so Dagster cannot read it before. dbt logs each
    # table's row count and distributions itself (a post-hook: macros/engine/row_counts.sql),
    # and the events are yielded, and stored by Dagster, while dbt runs. Except those of the
    # assets whose materialization starts work outside this step (_REPORTED_AFTER_BUILD): they
    # come once dbt has exited, and not at all when the build failed.
    held: list[Any] = []
    for event in _with_dbt_metadata(context, invocation):
        if _event_asset_key(context, event) in _REPORTED_AFTER_BUILD:
            held.append(event)
        else:
            yield event
    keep_partial_parse(invocation.target_path)
    _prune(context, invocation.target_path, settings.dbt_run_folders, started)
    yield from held


# The audience sensor emits an (audience, D) to the outbox once audience_members of D is
# materialized: only after the whole build, its own data tests included, has passed (a dbt model
# no other model reads, so holding it back keeps the assets' order).
_REPORTED_AFTER_BUILD = {dg.AssetKey(["audiences", "audience_members"])}


def _event_asset_key(context: AssetExecutionContext, event: Any) -> dg.AssetKey | None:
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    if isinstance(event, dg.AssetCheckResult):
        return event.asset_key
    return None


_ROW_COUNT = re.compile(r"memberflow row_count (\S+) (\d+)")
_DISTRIBUTION = re.compile(r"memberflow distribution (\S+) (\S+) (\{.*\})")


def _with_dbt_metadata(context: AssetExecutionContext, invocation) -> Iterator[Any]:
    """dagster-dbt's events of ``invocation`` (what ``invocation.stream()`` gives), each table's
    Output with the ``dagster/row_count`` and distributions that macro log_dagster_metadata
    logged before the node's result."""
    logged: dict[str, dict[str, Any]] = {}
    for raw in invocation.stream_raw_events():
        info = raw.raw_event["info"]
        if info.get("name") == "JinjaLogInfo":
            message = info.get("msg", "")
            if found := _ROW_COUNT.fullmatch(message):
                logged.setdefault(found.group(1), {})["dagster/row_count"] = dg.MetadataValue.int(
                    int(found.group(2)))
            elif found := _DISTRIBUTION.fullmatch(message):
                logged.setdefault(found.group(1), {})[found.group(2)] = dg.MetadataValue.json(
                    json.loads(found.group(3)))
            continue
        unique_id = raw.raw_event["data"].get("node_info", {}).get("unique_id")
        for event in raw.to_default_asset_events(
            manifest=invocation.manifest,
            dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=context,
            target_path=invocation.target_path,
            project=invocation.project,
        ):
            if isinstance(event, dg.Output) and unique_id in logged:
                event = event.with_metadata({**event.metadata, **logged.pop(unique_id)})
            yield event
