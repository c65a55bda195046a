"""Ingest (source, delivery date) partitions: every landing file of the day → raw Parquet.

``ingest_partition(settings, "pos", date(2024, 5, 3))`` reads every file of
``<landing>/pos/2024-05-03/`` and writes, for the source ``S`` = ``pos`` and that date:

- ``<raw>/<table>/<date>/S.parquet``: the typed rows of every file of the day (also when none
  were loaded), with ``file_name`` and ``line_no`` of each;
- ``<raw>/quarantine/<date>/S.parquet``: the rows that broke the contract (if any);
- ``<raw>/file_loads/<date>/S.parquet``: one row per landing file: sha256 and
  read = loaded + quarantined;
- ``<pii>/identifiers/<date>/S.parquet``: raw identifier values per file (if any), and for member
  files ``<pii>/member_profiles/<date>/S.parquet``.

One file per (table, source, day), not one per landing file: a day of a thousand store uploads
is written and later read as a handful of files. :func:`ingest_days` runs a range of days in
batches (see :func:`assets.ingest.common.parse_files`): files are read one by one, their
records typed and hashed together, and each day is still written and committed on its own.

Which files belong to a source: ``pos`` and ``meituan`` take ``*.csv``, ``eleme`` ``*.jsonl``,
``miniprogram_orders`` ``orders_*.jsonl`` and ``miniprogram_members`` ``members_*.jsonl`` of the
``miniprogram`` folder. Hidden or in-flight names (``.x``, ``_x``, ``x~``, ``*.tmp``, ``*.part``,
``*.partial``, ``*.crdownload``) are ignored; any other file in the folder is reported as
unreadable, because guessing what it holds could silently drop data. A missing folder is a day
with no files.

Atomic and rerun-safe: a day is first written to a staging directory (``<raw>/.staging``,
``<pii>/.staging``, outside every table's glob); only when every file of the day parsed does it
replace exactly this source's files of this date (files this source wrote earlier under other
names, e.g. one per landing file, are deleted). Each file is replaced atomically
(``os.replace``); a crash in the middle of the final moves leaves a mix that the next run of the
partition repairs. A day with a wholly unreadable file is reported (:class:`UnreadableFileError`
naming it) and left untouched. Parsing is deterministic, so a rerun writes byte-identical
Parquet; ``loaded_at`` is kept from the earlier load of a file when its content (sha256) and
counts did not change.

Re-delivery (an identical file skipped, a changed file replacing its rows) is resolved
downstream from ``file_loads.sha256``: ingestion loads every file it sees.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest import eleme, meituan, miniprogram, pos
from assets.ingest.common import (
    FileLoad,
    ParsedDay,
    Recipe,
    UnreadableFileError,
    parse_files,
)
from assets.ingest.hashing import Hasher
from assets.ingest.layout import ensure_raw_layout
from assets.ingest.schemas import RAW_TABLES, SOURCE_TABLES
from orchestration.settings import Settings

__all__ = [
    "DayOutcome",
    "FileResult",
    "PartitionResult",
    "UnreadableFileError",
    "ingest_days",
    "ingest_partition",
    "landing_files",
    "read_partition",
]

@dataclass(frozen=True)
class SourceSpec:
    folder: str  # landing folder
    matches: Callable[[str], bool]  # does a (lower-cased) file name belong to this source?
    expected: str  # for messages
    recipe: Recipe
    belongs_to_folder: Callable[[str], bool]  # does the name belong to any source of the folder?


def _csv(name: str) -> bool:
    return name.endswith(".csv")


def _jsonl(name: str) -> bool:
    return name.endswith(".jsonl")


def _mp(kind: str) -> Callable[[str], bool]:
    return lambda name: miniprogram.kind_of(name) == kind


def _mp_any(name: str) -> bool:
    return miniprogram.kind_of(name) is not None


SOURCES: dict[str, SourceSpec] = {
    "pos": SourceSpec("pos", _csv, "*.csv", pos.RECIPE, _csv),
    "meituan": SourceSpec("meituan", _csv, "*.csv", meituan.RECIPE, _csv),
    "eleme": SourceSpec("eleme", _jsonl, "*.jsonl", eleme.RECIPE, _jsonl),
    "miniprogram_orders": SourceSpec(
        "miniprogram",
        _mp(miniprogram.ORDERS_SOURCE),
        "orders_*.jsonl or members_*.jsonl",
        miniprogram.ORDERS_RECIPE,
        _mp_any,
    ),
    "miniprogram_members": SourceSpec(
        "miniprogram",
        _mp(miniprogram.MEMBERS_SOURCE),
        "orders_*.jsonl or members_*.jsonl",
        miniprogram.MEMBERS_RECIPE,
        _mp_any,
    ),
}
assert set(SOURCES) == set(SOURCE_TABLES)

_IGNORED_SUFFIXES = ("~", ".tmp", ".part", ".partial", ".crdownload")


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.lower().endswith(_IGNORED_SUFFIXES)


FileResult = FileLoad  # what one landing file gave (the name earlier versions used)


@dataclass
class PartitionResult:
    source: str
    delivery_date: date
    table: str
    files: list[FileLoad] = field(default_factory=list)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def reconciled(self) -> bool:
        return all(f.reconciled for f in self.files)

    def summary(self) -> str:
        return (
            f"{self.source} {self.delivery_date}: {len(self.files)} file(s), read {self.rows_read}, "
            f"loaded {self.rows_loaded}, quarantined {self.rows_quarantined}"
        )


def landing_files(settings: Settings, source: str, delivery_date: date) -> list[Path]:
    """This source's landing files of the day, by name. Raises UnreadableFileError naming every
    file in the folder that belongs to no source of it."""
    spec = _spec(source)
    folder = settings.landing_dir / spec.folder / delivery_date.isoformat()
    if not folder.is_dir():
        return []
    files: list[Path] = []
    strangers: list[str] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.is_file() or _ignored(path.name):
            continue
        name = path.name.lower()
        if spec.matches(name):
            files.append(path)
        elif not spec.belongs_to_folder(name):
            strangers.append(path.name)
    if strangers:
        raise UnreadableFileError(
            "; ".join(
                f"{spec.folder}/{delivery_date.isoformat()}/{name}: not a {spec.folder} file "
                f"(expected {spec.expected}); rename it or move it out of the landing folder"
                for name in strangers
            )
        )
    return files


_HASHERS: dict[str, Hasher] = {}


def _hasher(key: str) -> Hasher:
    """One memoizing hasher per key and process: a value seen by any partition is hashed once."""
    hasher = _HASHERS.get(key)
    if hasher is None:
        hasher = _HASHERS[key] = Hasher(key)
    return hasher


# Days are parsed together until their landing files reach this size: big enough that the fixed
# cost of each vectorized step is paid rarely (a day of 50 store uploads is about 1.5 MB), small
# enough that memory stays low and allocations stay cheap (about 60x this at most, for JSON).
BATCH_BYTES = 8 * 1024 * 1024


@dataclass
class DayOutcome:
    """One (source, day) of :func:`ingest_days`: its result, or why it failed."""

    delivery_date: date
    result: PartitionResult | None  # None when the day failed
    error: str | None  # the unreadable files of the day, named
    rows: pa.Table | None  # the rows loaded (what the raw file of the day now holds)


def ingest_partition(
    settings: Settings, source: str, delivery_date: date, *, hasher: Hasher | None = None
) -> PartitionResult:
    """Load every landing file of ``source`` delivered on ``delivery_date`` into the raw layer.

    Raises UnreadableFileError (naming every such file) when a file cannot be read at all; then
    nothing of the partition is replaced.
    """
    [outcome] = ingest_days(settings, source, [delivery_date], hasher=hasher)
    if outcome.error is not None:
        raise UnreadableFileError(outcome.error)
    assert outcome.result is not None
    return outcome.result


def ingest_days(
    settings: Settings,
    source: str,
    days: Iterable[date],
    *,
    hasher: Hasher | None = None,
    workers: int | None = None,
) -> Iterator[DayOutcome]:
    """:func:`ingest_partition` for each of ``days`` (in order), parsing them in batches of
    about :data:`BATCH_BYTES` of landing files. A day that fails (an unreadable or unknown file)
    is reported in its outcome and changes nothing; the other days are loaded.

    With more than one batch, batches are parsed and written by ``workers`` processes (default:
    :func:`ingest_workers`) while the caller consumes the outcomes (and validates them); the
    result is the same files, byte for byte, as one process writes. The ``rows`` of an outcome
    parsed in a worker are read back from the day's raw file.
    """
    spec = _spec(source)
    ensure_raw_layout(settings.raw_dir, settings.pii_dir)
    units: list[DayOutcome | list[tuple[date, list[Path]]]] = []  # in day order
    batch: list[tuple[date, list[Path]]] = []
    size = 0
    for day in days:
        try:
            files = landing_files(settings, source, day)
        except UnreadableFileError as exc:
            if batch:
                units.append(batch)
            batch, size = [], 0
            units.append(DayOutcome(day, None, str(exc), None))
            continue
        batch.append((day, files))
        size += sum(_size(p) for p in files)
        if size >= BATCH_BYTES:
            units.append(batch)
            batch, size = [], 0
    if batch:
        units.append(batch)

    workers = ingest_workers() if workers is None else workers
    if workers <= 1 or sum(isinstance(u, list) for u in units) < 2:
        hasher = hasher or _hasher(settings.hmac_key)
        for unit in units:
            if isinstance(unit, DayOutcome):
                yield unit
            else:
                yield from _ingest_batch(settings, source, spec, unit, hasher)
        return

    # fork: the children inherit the loaded modules (no imports, no __main__ re-run) and only
    # parse and write files
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [
            unit if isinstance(unit, DayOutcome) else pool.submit(_ingest_batch_in_worker, settings, source, unit)
            for unit in units
        ]
        for future in futures:
            if isinstance(future, DayOutcome):
                yield future
                continue
            for outcome in future.result():
                if outcome.result is not None:
                    outcome.rows = read_partition(settings, source, outcome.delivery_date)
                yield outcome


def ingest_workers() -> int:
    """Processes that parse in parallel: ``MEMBERFLOW_INGEST_WORKERS``, else one per core (at
    most 4)."""
    configured = os.environ.get("MEMBERFLOW_INGEST_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


def _ingest_batch_in_worker(settings: Settings, source: str, batch: list[tuple[date, list[Path]]]) -> list[DayOutcome]:
    outcomes = list(_ingest_batch(settings, source, _spec(source), batch, _hasher(settings.hmac_key)))
    for outcome in outcomes:
        outcome.rows = None  # the caller reads them back from the file (no copy through a pipe)
    return outcomes


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _ingest_batch(
    settings: Settings, source: str, spec: SourceSpec, batch: list[tuple[date, list[Path]]], hasher: Hasher
) -> Iterator[DayOutcome]:
    if not batch:
        return
    files = [(path, day) for day, paths in batch for path in paths]
    parsed, unreadable = parse_files(spec.recipe, files, hasher, settings.timezone)
    token = f"{source}-{batch[0][0].isoformat()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stages = (settings.raw_dir / ".staging" / token, settings.pii_dir / ".staging" / token)
    try:
        for folder in stages:
            _make_stage(folder)
        for day, _ in batch:
            if day in unreadable:
                yield DayOutcome(day, None, "; ".join(unreadable[day]), None)
                continue
            result, rows = _write_day(settings, source, day, parsed.pop(day, None), *stages)
            yield DayOutcome(day, result, None, rows)
    finally:
        for folder in stages:
            shutil.rmtree(folder, ignore_errors=True)
            try:
                folder.parent.rmdir()  # .staging itself, when no other partition is staging
            except OSError:
                pass


def _make_stage(folder: Path, attempts: int = 5) -> None:
    """Create a staging folder under ``.staging``. Another process that finished its own batch
    removes ``.staging`` when it is empty (above): between this process creating ``.staging`` and
    creating its folder in it, that removal can happen, and the folder's mkdir fails. Try again."""
    for attempt in range(attempts):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def _write_day(
    settings: Settings, source: str, delivery_date: date, parsed: ParsedDay | None, stage_raw: Path, stage_pii: Path
) -> tuple[PartitionResult, pa.Table]:
    """Stage the day's files, then move them in (see the module docstring)."""
    table = SOURCE_TABLES[source]
    day = delivery_date.isoformat()
    raw_dir, pii_dir = settings.raw_dir, settings.pii_dir
    result = PartitionResult(source=source, delivery_date=delivery_date, table=table)
    own = f"{source}.parquet"
    # target directory → (file name pattern owned by this source, staged files)
    targets: dict[Path, tuple[Callable[[str], bool], list[Path]]] = {
        raw_dir / table / day: (lambda n: n.endswith(".parquet"), []),
        raw_dir / "quarantine" / day: (_owned(source), []),
        raw_dir / "file_loads" / day: (_owned(source), []),
        pii_dir / "identifiers" / day: (_owned(source), []),
        pii_dir / "member_profiles" / day: (_owned(source), []),
    }

    def stage(target: Path, data: pa.Table, root: Path) -> None:
        staged = root / f"{target.parent.name}__{day}__{own}"
        _write_parquet(data, staged)
        targets[target][1].append(staged)

    rows = RAW_TABLES[table].empty_table()
    if parsed is not None and parsed.files:
        rows = parsed.rows
        stage(raw_dir / table / day, rows, stage_raw)
        if parsed.quarantine.num_rows:
            stage(raw_dir / "quarantine" / day, parsed.quarantine, stage_raw)
        loads_dir = raw_dir / "file_loads" / day
        stage(loads_dir, _file_loads(source, parsed, loads_dir), stage_raw)
        if parsed.pii.num_rows:
            stage(pii_dir / "identifiers" / day, parsed.pii, stage_pii)
        if parsed.member_profiles is not None and parsed.member_profiles.num_rows:
            stage(pii_dir / "member_profiles" / day, parsed.member_profiles, stage_pii)
        result.files.extend(parsed.files)
        for load in parsed.files:
            result.quarantine_reasons.update(load.quarantine_reasons)
    _commit(targets, own)
    return result, rows


def read_partition(settings: Settings, source: str, delivery_date: date) -> pa.Table:
    """The rows this source loaded for one delivery day (empty, full schema, when none)."""
    table = SOURCE_TABLES[source]
    folder = settings.raw_dir / table / delivery_date.isoformat()
    parts = [pq.read_table(p) for p in sorted(folder.glob("*.parquet"))] if folder.is_dir() else []
    if not parts:
        return RAW_TABLES[table].empty_table()
    return pa.concat_tables(parts)


def _spec(source: str) -> SourceSpec:
    try:
        return SOURCES[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}") from None


def _owned(source: str) -> Callable[[str], bool]:
    """This source's files in a folder shared by sources: ``S.parquet`` (and ``S__<landing
    file>.parquet``, the one-file-per-landing-file layout of earlier versions)."""
    name_, prefix = f"{source}.parquet", f"{source}__"
    return lambda name: name == name_ or (name.startswith(prefix) and name.endswith(".parquet"))


# Mostly distinct text, where dictionaries waste time (and every *_hash column).
_UNIQUE_TEXT = {"order_no", "order_id", "ref_order_no", "raw", "coupon_id", "value", "member_id", "referrer_member_id"}


def _write_parquet(table: pa.Table, path: Path) -> None:
    """zstd; dictionaries for repetitive columns (store, status, dates), statistics for
    every column a reader may filter on (not the 64-character hashes). Deterministic: the same
    table gives the same bytes (no timestamps, no pandas metadata)."""
    schema = table.schema
    dictionary = [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) and f.name not in _UNIQUE_TEXT and not f.name.endswith("_hash"))
        or pa.types.is_date(f.type)
    ]
    statistics = [f.name for f in schema if not f.name.endswith("_hash") and f.name != "raw"]
    pq.write_table(table, path, compression="zstd", use_dictionary=dictionary, write_statistics=statistics)


_SAME_LOAD = ("sha256", "rows_read", "rows_loaded", "rows_quarantined", "encoding")


def _file_loads(source: str, parsed: ParsedDay, folder: Path) -> pa.Table:
    """One row per landing file; ``loaded_at`` kept from the earlier load of the same file when
    its content and counts did not change."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    earlier: dict[str, dict] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if _owned(source)(path.name):
            try:
                earlier.update((r["file_name"], r) for r in pq.read_table(path).to_pylist())
            except Exception:  # a damaged earlier file is simply replaced
                pass
    rows = []
    for load in parsed.files:
        row = {"source": source, **{k: getattr(load, k) for k in ("delivery_date", "file_name", *_SAME_LOAD)}}
        old = earlier.get(load.file_name, {})
        row["loaded_at"] = old["loaded_at"] if all(old.get(k) == row[k] for k in _SAME_LOAD) else now
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=RAW_TABLES["file_loads"])


def _commit(targets: dict[Path, tuple[Callable[[str], bool], list[Path]]], name: str) -> None:
    """Move the staged files in under ``name`` (each replace is atomic), then delete what this
    partition owns there and did not write now (files of a landing file that is gone)."""
    for target, (owned, staged) in targets.items():
        if staged:
            target.mkdir(parents=True, exist_ok=True)
            for path in staged:
                os.replace(path, target / name)
        elif not target.is_dir():
            continue
        for old in os.scandir(target):
            if old.is_file() and owned(old.name) and not (staged and old.name == name):
                os.unlink(old.path)
        if not staged:
            try:
                target.rmdir()  # only when empty
            except OSError:
                pass
