"""Ingest one (source, delivery date) partition: every landing file of the day → raw Parquet.

``ingest_partition(settings, "pos", date(2024, 5, 3))`` reads every file of
``<landing>/pos/2024-05-03/`` and writes, per landing file ``F``:

- ``<raw>/<table>/<date>/F.parquet``: the typed rows (also when none were loaded);
- ``<raw>/quarantine/<date>/<source>__F.parquet``: the rows that broke the contract (if any);
- ``<raw>/file_loads/<date>/<source>__F.parquet``: sha256 and read = loaded + quarantined;
- ``<pii>/identifiers/<date>/<source>__F.parquet``: raw identifier values (if any), and for member
  files ``<pii>/member_profiles/<date>/<source>__F.parquet``.

Which files belong to a source: ``pos`` and ``meituan`` take ``*.csv``, ``eleme`` ``*.jsonl``,
``miniprogram_orders`` ``orders_*.jsonl`` and ``miniprogram_members`` ``members_*.jsonl`` of the
``miniprogram`` folder. Hidden or in-flight names (``.x``, ``_x``, ``x~``, ``*.tmp``, ``*.part``,
``*.partial``, ``*.crdownload``) are ignored; any other file in the folder is reported as
unreadable, because guessing what it holds could silently drop data. A missing folder is a day
with no files.

Atomic and rerun-safe: everything is first written to a staging directory (``<raw>/.staging``,
``<pii>/.staging``, outside every table's glob); only when every file of the partition parsed
does it replace exactly this source's files of this date (files of a landing file that is gone
are deleted). Each file is replaced atomically (``os.replace``); a crash in the middle of the
final moves leaves a mix that the next run of the partition repairs. A wholly unreadable file raises
:class:`UnreadableFileError` naming it and leaves the previous state untouched. Parsing is
deterministic, so a rerun writes byte-identical Parquet; ``loaded_at`` is kept from the earlier
load when the file's content (sha256) and counts did not change.

Re-delivery (an identical file skipped, a changed file replacing its rows) is resolved
downstream from ``file_loads.sha256``: ingestion loads every file it sees.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest import eleme, meituan, miniprogram, pos
from assets.ingest.common import ParsedFile, UnreadableFileError
from assets.ingest.hashing import Hasher
from assets.ingest.layout import ensure_raw_layout
from assets.ingest.schemas import RAW_TABLES, SOURCE_TABLES
from orchestration.settings import Settings

__all__ = [
    "FileResult",
    "PartitionResult",
    "UnreadableFileError",
    "ingest_partition",
    "landing_files",
    "read_partition",
]

Parser = Callable[[Path, date, Hasher, str], ParsedFile]


@dataclass(frozen=True)
class SourceSpec:
    folder: str  # landing folder
    matches: Callable[[str], bool]  # does a (lower-cased) file name belong to this source?
    expected: str  # for messages
    parser: Parser
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
    "pos": SourceSpec("pos", _csv, "*.csv", pos.parse_file, _csv),
    "meituan": SourceSpec("meituan", _csv, "*.csv", meituan.parse_file, _csv),
    "eleme": SourceSpec("eleme", _jsonl, "*.jsonl", eleme.parse_file, _jsonl),
    "miniprogram_orders": SourceSpec(
        "miniprogram",
        _mp(miniprogram.ORDERS_SOURCE),
        "orders_*.jsonl or members_*.jsonl",
        miniprogram.parse_orders_file,
        _mp_any,
    ),
    "miniprogram_members": SourceSpec(
        "miniprogram",
        _mp(miniprogram.MEMBERS_SOURCE),
        "orders_*.jsonl or members_*.jsonl",
        miniprogram.parse_members_file,
        _mp_any,
    ),
}
assert set(SOURCES) == set(SOURCE_TABLES)

_IGNORED_SUFFIXES = ("~", ".tmp", ".part", ".partial", ".crdownload")


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.lower().endswith(_IGNORED_SUFFIXES)


@dataclass(frozen=True)
class FileResult:
    file_name: str
    table: str
    sha256: str
    encoding: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class PartitionResult:
    source: str
    delivery_date: date
    table: str
    files: list[FileResult] = field(default_factory=list)
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


def ingest_partition(
    settings: Settings, source: str, delivery_date: date, *, hasher: Hasher | None = None
) -> PartitionResult:
    """Load every landing file of ``source`` delivered on ``delivery_date`` into the raw layer.

    Raises UnreadableFileError (naming every such file) when a file cannot be read at all; then
    nothing of the partition is replaced.
    """
    spec = _spec(source)
    table = SOURCE_TABLES[source]
    day = delivery_date.isoformat()
    raw_dir, pii_dir = settings.raw_dir, settings.pii_dir
    ensure_raw_layout(raw_dir, pii_dir)
    files = landing_files(settings, source, delivery_date)
    hasher = hasher or _hasher(settings.hmac_key)

    token = f"{source}-{day}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage_raw = raw_dir / ".staging" / token
    stage_pii = pii_dir / ".staging" / token
    result = PartitionResult(source=source, delivery_date=delivery_date, table=table)
    # target directory → (file name pattern owned by this partition, staged files)
    targets: dict[Path, tuple[Callable[[str], bool], list[Path]]] = {
        raw_dir / table / day: (lambda n: n.endswith(".parquet"), []),
        raw_dir / "quarantine" / day: (_owned(source), []),
        raw_dir / "file_loads" / day: (_owned(source), []),
        pii_dir / "identifiers" / day: (_owned(source), []),
        pii_dir / "member_profiles" / day: (_owned(source), []),
    }

    def stage(target: Path, name: str, data: pa.Table, root: Path) -> None:
        staged = root / target.parent.name / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        _write_parquet(data, staged)
        targets[target][1].append(staged)

    try:
        unreadable: list[str] = []
        for path in files:
            try:
                parsed = spec.parser(path, delivery_date, hasher, settings.timezone)
            except UnreadableFileError as exc:
                unreadable.append(str(exc))
                continue
            own = f"{source}__{path.name}.parquet"
            stage(raw_dir / table / day, f"{path.name}.parquet", parsed.rows, stage_raw)
            if parsed.quarantine.num_rows:
                stage(raw_dir / "quarantine" / day, own, parsed.quarantine, stage_raw)
            loads = _file_loads(parsed, raw_dir / "file_loads" / day / own)
            stage(raw_dir / "file_loads" / day, own, loads, stage_raw)
            if parsed.pii.num_rows:
                stage(pii_dir / "identifiers" / day, own, parsed.pii, stage_pii)
            if parsed.member_profiles is not None and parsed.member_profiles.num_rows:
                stage(pii_dir / "member_profiles" / day, own, parsed.member_profiles, stage_pii)
            result.files.append(
                FileResult(
                    file_name=path.name,
                    table=table,
                    sha256=parsed.sha256,
                    encoding=parsed.encoding,
                    rows_read=parsed.rows_read,
                    rows_loaded=parsed.rows_loaded,
                    rows_quarantined=parsed.rows_quarantined,
                )
            )
            result.quarantine_reasons.update(parsed.quarantine_reasons)
            del parsed
        if unreadable:
            raise UnreadableFileError("; ".join(unreadable))
        _commit(targets)
    finally:
        for staged in (stage_raw, stage_pii):
            shutil.rmtree(staged, ignore_errors=True)
            try:
                staged.parent.rmdir()  # .staging itself, when no other partition is staging
            except OSError:
                pass
    return result


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
    prefix = f"{source}__"
    return lambda name: name.startswith(prefix) and name.endswith(".parquet")


_UNIQUE_TEXT = {"order_no", "order_id", "ref_order_no", "raw", "coupon_id"}  # dictionaries waste time


def _write_parquet(table: pa.Table, path: Path) -> None:
    """zstd; dictionaries for repetitive columns (store, status, hashes, dates), statistics for
    every column a reader may filter on (not the 64-character hashes). Deterministic: the same
    table gives the same bytes (no timestamps, no pandas metadata)."""
    schema = table.schema
    dictionary = [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) and f.name not in _UNIQUE_TEXT) or pa.types.is_date(f.type)
    ]
    statistics = [f.name for f in schema if not f.name.endswith("_hash") and f.name != "raw"]
    pq.write_table(table, path, compression="zstd", use_dictionary=dictionary, write_statistics=statistics)


def _file_loads(parsed: ParsedFile, previous: Path) -> pa.Table:
    loaded_at = datetime.now(timezone.utc).replace(microsecond=0)
    if previous.exists():
        try:
            old = pq.read_table(previous).to_pylist()
        except Exception:  # a damaged earlier file is simply replaced
            old = []
        if old and all(
            old[0].get(k) == v
            for k, v in (
                ("sha256", parsed.sha256),
                ("rows_read", parsed.rows_read),
                ("rows_loaded", parsed.rows_loaded),
                ("rows_quarantined", parsed.rows_quarantined),
                ("encoding", parsed.encoding),
            )
        ):
            loaded_at = old[0]["loaded_at"]
    return pa.Table.from_pylist(
        [
            {
                "source": parsed.source,
                "delivery_date": parsed.delivery_date,
                "file_name": parsed.file_name,
                "sha256": parsed.sha256,
                "encoding": parsed.encoding,
                "rows_read": parsed.rows_read,
                "rows_loaded": parsed.rows_loaded,
                "rows_quarantined": parsed.rows_quarantined,
                "loaded_at": loaded_at,
            }
        ],
        schema=RAW_TABLES["file_loads"],
    )


def _commit(targets: dict[Path, tuple[Callable[[str], bool], list[Path]]]) -> None:
    """Move the staged files in (each replace is atomic), then delete what this partition owns
    there and did not write now (files of a landing file that is gone)."""
    for target, (owned, staged) in targets.items():
        keep = {p.name for p in staged}
        if staged:
            target.mkdir(parents=True, exist_ok=True)
        for path in staged:
            os.replace(path, target / path.name)
        if target.is_dir():
            for old in target.iterdir():
                if old.is_file() and owned(old.name) and old.name not in keep:
                    old.unlink()
            if not staged:
                try:
                    target.rmdir()  # only when empty
                except OSError:
                    pass
