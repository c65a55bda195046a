"""Forgetting deleted persons outside the warehouse (PIPL, SPEC §6).

dbt already drops a person with a ``delete`` event from every table it builds. Two stores live
outside dbt and are cleaned here, after each build, from ``identity.forgotten_identifiers``:

- the restricted pii store: identifier values (``<pii>/identifiers``) of the person's hashes and
  the member profiles (``<pii>/member_profiles``) of its member ids are removed from the Parquet
  files that hold them (each file rewritten aside, then renamed over the old one);
- the outbox: rows of the person in audience files emitted before the delete are withdrawn. The
  set keeps its name; ``audience.csv`` is rewritten without them and ``manifest.json`` gets the new
  row count and checksum plus ``withdrawn_rows`` and ``withdrawn_at``. A withdrawal is not a second
  emission: no row is ever added to an emitted set.

Work is incremental: ``<pii>/.forget_state.json`` records which forgotten set was applied and when,
so a daily run with no new delete only looks at files written since the last pass.
"""


import csv
import hashlib
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster import AssetExecutionContext

from assets.audiences.emit import render_csv
from orchestration.engine import open_reader
from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_WRITER_POOL, MemberflowConfig
from orchestration.settings import Settings

STATE_FILE = ".forget_state.json"
FORGOTTEN_KEY = dg.AssetKey(["identity", "forgotten_identifiers"])


@dataclass
class Forgotten:
    identifier_hashes: set[str] = field(default_factory=set)
    member_ids: set[str] = field(default_factory=set)
    one_ids: set[str] = field(default_factory=set)

    def digest(self) -> str:
        text = json.dumps([sorted(self.identifier_hashes), sorted(self.member_ids), sorted(self.one_ids)])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ForgetReport:
    persons: int = 0
    pii_files_rewritten: int = 0
    pii_rows_removed: int = 0
    outbox_sets_rewritten: int = 0
    outbox_rows_withdrawn: int = 0
    files_checked: int = 0


def read_forgotten(warehouse: Settings | Path) -> Forgotten:
    con = open_reader(warehouse)
    try:
        rows = con.execute(
            "select identifier_hash, member_id, one_id from identity.forgotten_identifiers"
        ).fetchall()
    finally:
        con.close()
    forgotten = Forgotten()
    for identifier_hash, member_id, one_id in rows:
        forgotten.identifier_hashes.add(identifier_hash)
        forgotten.one_ids.add(one_id)
        if member_id is not None:
            forgotten.member_ids.add(member_id)
    return forgotten


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it over ``path`` (atomic on one filesystem)."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    aside.write_bytes(data)
    os.replace(aside, path)


def _newer(paths: list[Path], since_ns: int) -> list[Path]:
    return [p for p in paths if p.stat().st_mtime_ns > since_ns]


def _rewrite_parquet(path: Path, column: str, drop: set[str]) -> int:
    """Remove the rows whose ``column`` is in ``drop``; return how many were removed."""
    table = pq.read_table(path)
    hit = pc.is_in(table[column], value_set=pa.array(sorted(drop), pa.string()))
    hit = pc.fill_null(hit, False)
    removed = pc.sum(hit).as_py() or 0
    if removed:
        kept = table.filter(pc.invert(hit))
        buffer = pa.BufferOutputStream()
        pq.write_table(kept, buffer)
        _replace(path, buffer.getvalue().to_pybytes())
    return removed


def _forget_in_pii(pii_dir: Path, forgotten: Forgotten, since_ns: int, report: ForgetReport) -> None:
    for table, column, drop in (
        ("identifiers", "identifier_hash", forgotten.identifier_hashes),
        ("member_profiles", "member_id", forgotten.member_ids),
    ):
        files = _newer([p for p in (pii_dir / table).glob("*/*.parquet") if p.parent.name != "_empty"],
                       since_ns)
        report.files_checked += len(files)
        if not files or not drop:
            continue
        # one DuckDB scan tells which files hold a forgotten value; only those are rewritten
        con = duckdb.connect()
        try:
            hits = [Path(f) for (f,) in con.execute(
                f"select distinct filename from read_parquet(?, filename = true, union_by_name = true) "
                f"where {column} in (select unnest(?))",
                [[str(p) for p in files], sorted(drop)],
            ).fetchall()]
        finally:
            con.close()
        # pyarrow reads, filters and writes without the GIL: one file per core at a time (a
        # first pass after a build over all history rewrites most of the store)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for removed in pool.map(lambda path: _rewrite_parquet(path, column, drop), hits):
                report.pii_rows_removed += removed
                report.pii_files_rewritten += 1


def withdraw_from_set(folder: Path, forgotten: Forgotten) -> int:
    """Withdraw the forgotten persons' rows from one emitted set; return how many were removed."""
    csv_path, manifest_path = folder / "audience.csv", folder / "manifest.json"
    text = csv_path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    kept = [r for r in rows
            if r["member_id"] not in forgotten.member_ids and r["one_id"] not in forgotten.one_ids]
    removed = len(rows) - len(kept)
    if not removed:
        return 0
    payload = render_csv(kept)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(
        row_count=len(kept),
        sha256=hashlib.sha256(payload).hexdigest(),
        withdrawn_rows=manifest.get("withdrawn_rows", 0) + removed,
        withdrawn_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        withdrawn_reason="personal-information deletion request (PIPL)",
    )
    # the CSV first, then the manifest that describes it: each replaced atomically
    _replace(csv_path, payload)
    _replace(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return removed


def _forget_in_outbox(outbox: Path, forgotten: Forgotten, since_ns: int, report: ForgetReport) -> None:
    manifests = _newer(list(outbox.glob("*/*/manifest.json")), since_ns) if outbox.is_dir() else []
    report.files_checked += len(manifests)
    if not forgotten.member_ids and not forgotten.one_ids:
        return
    for manifest in manifests:
        removed = withdraw_from_set(manifest.parent, forgotten)
        if removed:
            report.outbox_rows_withdrawn += removed
            report.outbox_sets_rewritten += 1


def forget_deleted_persons(warehouse: Settings | Path, pii_dir: Path, outbox: Path) -> ForgetReport:
    """Apply ``identity.forgotten_identifiers`` to the pii store and the outbox (idempotent)."""
    forgotten = read_forgotten(warehouse)
    digest = forgotten.digest()
    report = ForgetReport(persons=len(forgotten.one_ids))
    state_path = pii_dir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    # the same forgotten set as last time: only files written since then can hold its values
    since_ns = state.get("checked_ns", 0) if state.get("digest") == digest else 0
    _forget_in_pii(pii_dir, forgotten, since_ns, report)
    _forget_in_outbox(outbox, forgotten, since_ns, report)
    pii_dir.mkdir(parents=True, exist_ok=True)
    # after our own rewrites: no other writer runs beside this step (pool duckdb_writer)
    _replace(state_path, json.dumps({"digest": digest, "checked_ns": time.time_ns()}).encode())
    return report


@dg.asset(
    key=dg.AssetKey(["privacy", "forget_deleted_persons"]),
    group_name="privacy",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITER_POOL,  # reads the warehouse file, rewrites pii files
    deps=[FORGOTTEN_KEY],
    kinds={"parquet", "csv"},
    description=(
        "PIPL deletes outside the warehouse: removes forgotten persons' raw values from the pii "
        "store and withdraws their rows from outbox files emitted before the delete."
    ),
)
def forget_deleted(context: AssetExecutionContext, memberflow: MemberflowConfig) -> dg.MaterializeResult:
    settings = memberflow.settings()
    report = forget_deleted_persons(settings, settings.pii_dir, settings.outbox_dir)
    context.log.info(f"forget: {report}")
    return dg.MaterializeResult(metadata={k: v for k, v in vars(report).items()})
