"""Ingestion assets: one per source, daily partitioned by delivery date.

Each reads every file of ``<landing>/<source>/<YYYY-MM-DD>/``, writes typed Parquet to the raw
layer (quarantine and file reconciliation beside it) and reports two checks: the row
reconciliation (read = loaded + quarantined, per file) and the Great Expectations suite of the
raw table. A run over a range of days is one run (``BackfillPolicy.single_run()``).
"""



from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import dagster as dg
from dagster import AssetExecutionContext
import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest.layout import ensure_raw_layout
from assets.ingest.schemas import SOURCE_TABLES
from orchestration.partitions import daily_partitions
from orchestration.resources import MemberflowConfig
from orchestration.settings import Settings

# A hook for the command line: called once per ingested (source, day) with a one-line summary.
_progress: list[Callable[[str], None]] = []


def set_progress_reporter(reporter: Callable[[str], None] | None) -> None:
    _progress.clear()
    if reporter is not None:
        _progress.append(reporter)


def _report(line: str) -> None:
    for reporter in _progress:
        reporter(line)


def _days(context: AssetExecutionContext) -> list[date]:
    key_range = context.partition_key_range
    first, last = date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _read_partition_tables(settings: Settings, table: str, source: str, day: date) -> tuple[pa.Table | None, pa.Table | None]:
    """The rows and the file_loads this source wrote for one delivery day (None when none)."""
    rows_dir = settings.raw_dir / table / day.isoformat()
    loads_dir = settings.raw_dir / "file_loads" / day.isoformat()
    rows = [pq.read_table(p) for p in sorted(rows_dir.glob("*.parquet"))]
    loads = [pq.read_table(p) for p in sorted(loads_dir.glob(f"{source}__*.parquet"))]
    return (
        pa.concat_tables(rows) if rows else None,
        pa.concat_tables(loads) if loads else None,
    )


def build_ingest_asset(source: str) -> dg.AssetsDefinition:
    table = SOURCE_TABLES[source]
    key = dg.AssetKey(["raw", table])
    reconciliation = dg.AssetCheckSpec(
        "rows_reconcile",
        asset=key,
        description="Every landing row is loaded or quarantined: rows_read = rows_loaded + rows_quarantined per file.",
        blocking=True,
    )
    expectations = dg.AssetCheckSpec(
        "expectations",
        asset=key,
        description="Great Expectations suite on the loaded rows (keys, dates, statuses, amounts, hashes).",
    )

    @dg.asset(
        key=key,
        group_name="ingest",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[reconciliation, expectations],
        kinds={"python", "parquet"},
        description=(
            f"Typed rows of the `{source}` landing files of each delivery day, written to "
            f"`<raw>/{table}/<day>/`; bad rows go to `quality.quarantine` with a reason."
        ),
    )
    def _ingest(context: AssetExecutionContext, memberflow: MemberflowConfig) -> Iterator:
        from assets.ingest.expectations import validate_rows
        from assets.ingest.partition import UnreadableFileError, ingest_partition

        settings = memberflow.settings()
        ensure_raw_layout(settings.raw_dir, settings.pii_dir)
        totals: Counter[str] = Counter()
        files = 0
        reconcile_failures: list[str] = []
        gx_failures: list[str] = []
        gx_evaluated = 0
        unreadable: list[str] = []
        for day in _days(context):
            try:
                ingest_partition(settings, source, day)
            except UnreadableFileError as exc:
                unreadable.append(str(exc))
                _report(f"ingest {source:<20} {day}  FAILED: {exc}")
                continue
            rows, loads = _read_partition_tables(settings, table, source, day)
            if loads is not None:
                for load in loads.to_pylist():
                    files += 1
                    totals["rows_read"] += load["rows_read"]
                    totals["rows_loaded"] += load["rows_loaded"]
                    totals["rows_quarantined"] += load["rows_quarantined"]
                    if load["rows_read"] != load["rows_loaded"] + load["rows_quarantined"]:
                        reconcile_failures.append(
                            f"{day}/{load['file_name']}: read {load['rows_read']} != "
                            f"loaded {load['rows_loaded']} + quarantined {load['rows_quarantined']}"
                        )
            if rows is not None and rows.num_rows:
                result = validate_rows(table, rows.to_pandas())
                gx_evaluated += int(result.get("evaluated", 0))
                if not result["success"]:
                    gx_failures.extend(f"{day}: {f}" for f in result.get("failed", []))
            day_loads = loads.num_rows if loads is not None else 0
            _report(
                f"ingest {source:<20} {day}  files {day_loads:>3}  rows {rows.num_rows if rows is not None else 0:>8}"
            )

        if unreadable:
            raise dg.Failure(
                description="; ".join(unreadable),
                metadata={"unreadable_files": dg.MetadataValue.json(unreadable)},
            )
        yield dg.MaterializeResult(
            metadata={
                "files": files,
                "rows_read": totals["rows_read"],
                "rows_loaded": totals["rows_loaded"],
                "rows_quarantined": totals["rows_quarantined"],
                "raw_path": dg.MetadataValue.path(str(settings.raw_dir / table)),
            }
        )
        yield dg.AssetCheckResult(
            check_name="rows_reconcile",
            asset_key=key,
            passed=not reconcile_failures,
            metadata={
                "files": files,
                "rows_read": totals["rows_read"],
                "rows_loaded": totals["rows_loaded"],
                "rows_quarantined": totals["rows_quarantined"],
                "mismatches": dg.MetadataValue.json(reconcile_failures[:50]),
            },
        )
        yield dg.AssetCheckResult(
            check_name="expectations",
            asset_key=key,
            passed=not gx_failures,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "expectations_evaluated": gx_evaluated,
                "failed": dg.MetadataValue.json(gx_failures[:50]),
            },
        )

    return _ingest


INGEST_SOURCES = tuple(SOURCE_TABLES)
ingest_assets = [build_ingest_asset(source) for source in INGEST_SOURCES]
