"""Ingestion assets: one per source, daily partitioned by delivery date.

Each reads every file of ``<landing>/<source>/<YYYY-MM-DD>/``, writes typed Parquet to the raw
layer (quarantine and file reconciliation beside it) and reports two checks: the row
reconciliation (read = loaded + quarantined, per file) and the Great Expectations suite of the
raw table. A run over a range of days is one run (``BackfillPolicy.single_run()``).
"""



import gc
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
from dagster import AssetExecutionContext

from assets.ingest.layout import ensure_raw_layout
from assets.ingest.schemas import SOURCE_TABLES
from orchestration.partitions import daily_partitions
from orchestration.resources import MemberflowConfig

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


class _ChunkedValidation:
    """Great Expectations over a range of days in chunks of about half a million rows: the suite's
    fixed cost is paid per chunk, not per day, and memory stays bounded on long backfills."""

    CHUNK_ROWS = 500_000

    def __init__(self, table: str, validate: Callable[[str, pa.Table], dict]) -> None:
        self.table, self.validate = table, validate
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.evaluated = 0
        self.rows = 0
        self.failures: list[str] = []

    def add(self, day: date, rows: pa.Table) -> None:
        self.first_day = self.first_day or day
        self.pending.append(rows)
        self.pending_rows += rows.num_rows
        self.last_day = day
        if self.pending_rows >= self.CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        chunk = pa.concat_tables(self.pending)
        self.pending, self.pending_rows = [], 0
        result = self.validate(self.table, chunk)
        self.evaluated += int(result.get("evaluated", 0))
        self.rows += chunk.num_rows
        if not result["success"]:
            self.failures.extend(
                f"{self.first_day}..{self.last_day}: {f}" for f in result.get("failed", [])
            )
        self.first_day = None
        rows = chunk.num_rows
        del chunk
        if rows >= self.CHUNK_ROWS // 4:
            # what GX's objects of a large chunk hold in reference cycles, before the next chunk.
            # Not after a small one (a day's run): a full collection of the process's objects
            # (Dagster's, GX's) costs ≈ 0.3 s, five times in a daily run, to free a few MB.
            gc.collect()
        pa.default_memory_pool().release_unused()  # give the chunk's buffers back to the system


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
        from assets.ingest.expectations import validate_table
        from assets.ingest.partition import ingest_days

        settings = memberflow.settings()
        ensure_raw_layout(settings.raw_dir, settings.pii_dir)
        totals: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        files = 0
        reconcile_failures: list[str] = []
        gx = _ChunkedValidation(table, validate_table)
        unreadable: list[str] = []
        for outcome in ingest_days(settings, source, _days(context)):
            day, result = outcome.delivery_date, outcome.result
            if result is None:
                unreadable.append(str(outcome.error))
                _report(f"ingest {source:<20} {day}  FAILED: {outcome.error}")
                continue
            files += len(result.files)
            totals.update(
                rows_read=result.rows_read,
                rows_loaded=result.rows_loaded,
                rows_quarantined=result.rows_quarantined,
            )
            reasons.update(result.quarantine_reasons)
            reconcile_failures.extend(
                f"{day}/{f.file_name}: read {f.rows_read} != loaded {f.rows_loaded} + "
                f"quarantined {f.rows_quarantined}"
                for f in result.files
                if not f.reconciled
            )
            if outcome.rows is not None and outcome.rows.num_rows:
                gx.add(day, outcome.rows)  # the rows just written, validated from memory
            _report(
                f"ingest {source:<20} {day}  files {len(result.files):>3}  "
                f"loaded {result.rows_loaded:>8}  quarantined {result.rows_quarantined:>5}"
            )
        gx.flush()

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
                "quarantine_reasons": dg.MetadataValue.json(dict(reasons.most_common(20))),
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
            passed=not gx.failures,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "expectations_evaluated": gx.evaluated,
                "rows_validated": gx.rows,
                "failed": dg.MetadataValue.json(gx.failures[:50]),
            },
        )

    return _ingest


INGEST_SOURCES = tuple(SOURCE_TABLES)
ingest_assets = [build_ingest_asset(source) for source in INGEST_SOURCES]
