"""Writing one audience file set for marketing: ``outbox/<audience>/<D>/audience.csv`` + ``manifest.json``.

The warehouse holds only hashes; the phone (sms rows) and unionid (wecom rows) a sender needs come
from the restricted pii store at emission time, and only for those rows. A (audience, D) is
emitted once: the files are built in a hidden sibling folder and renamed into place, so a reader
never sees a partial set, and an existing set is never rewritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from orchestration.engine import open_reader
from orchestration.settings import Settings

AUDIENCES = ("reactivation", "points_expiry", "tier_downgrade")

CSV_COLUMNS = [
    "message_key",
    "one_id",
    "member_id",
    "channel",
    "phone",
    "unionid",
    "tier",
    "rfm_segment",
    "lifecycle",
    "recency_days",
    "monetary_365",
    "points_balance",
    "points_expiring",
    "earliest_expiry",
    "preferred_hour",
    "reason",
]


@dataclass(frozen=True)
class Emission:
    audience: str
    as_of_date: date
    folder: Path
    rows: int
    sha256: str
    emitted: bool  # False: the set already existed and was left as it was


def outbox_folder(outbox: Path, audience: str, as_of: date) -> Path:
    return outbox / audience / as_of.isoformat()


# The pii values read so far, for one state of the pii store: {(type, hash): value or None}.
# An emission reads the store only for hashes not held here, and then also for every contact its
# caller expects to need next (the other audiences and days of the run), so that a run reads the
# store once, not once per (audience, day): each pass reads every identifier file (≈ 1 s at 1 M
# persons; a 400-day first run emits 1,200 sets). Any change of the store's files (ingestion of
# a new day, the forget step rewriting a file) empties it.
_pii_lock = threading.Lock()
_pii_held: dict[str, Any] = {"store": None, "values": {}}

Contacts = dict[str, Iterable[str]]  # {identifier type: hashes}


def _pii_store_state(pii_dir: Path) -> tuple:
    """What identifies the pii store's content: every identifier file's path, size and mtime."""
    files = sorted(pii_dir.glob("identifiers/*/*.parquet"))
    return (str(pii_dir), tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()]))


def _read_pii(pii_dir: Path, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """One pass over the pii store: the value of each (type, hash) pair found."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"""
            select w.identifier_type, w.identifier_hash, min(p.value)
            from read_parquet('{pii_dir}/identifiers/*/*.parquet', union_by_name = true) p
            inner join (select unnest(?) as identifier_type, unnest(?) as identifier_hash) w
                on w.identifier_type = p.identifier_type
               and w.identifier_hash = p.identifier_hash
            group by 1, 2
            """,
            [[kind for kind, _ in pairs], [h for _, h in pairs]],
        ).fetchall()
    finally:
        con.close()
    return {(kind, identifier_hash): value for kind, identifier_hash, value in rows}


def _pii_values(
    pii_dir: Path, wanted: Contacts, expected: Callable[[], Contacts] | None = None
) -> dict[str, dict[str, str]]:
    """{identifier_type: {hash: value}} for the hashes wanted of each type. When some are not held
    yet, one pass over the pii store reads them together with ``expected()``'s."""
    pairs = {(kind, h) for kind, hashes in wanted.items() for h in hashes}
    found: dict[str, dict[str, str]] = {kind: {} for kind in wanted}
    if not pairs:
        return found
    with _pii_lock:
        store = _pii_store_state(pii_dir)
        if _pii_held["store"] != store:
            _pii_held.update(store=store, values={})
        held: dict[tuple[str, str], str | None] = _pii_held["values"]
        missing = pairs - held.keys()
        if missing:
            if expected is not None:
                missing |= {(kind, h) for kind, hashes in expected().items() for h in hashes} - held.keys()
            values = _read_pii(pii_dir, sorted(missing))
            held.update({pair: values.get(pair) for pair in missing})
        for kind, identifier_hash in pairs:
            value = held[(kind, identifier_hash)]
            if value is not None:
                found[kind][identifier_hash] = value
    return found


def _contacts(records: Iterable[dict]) -> Contacts:
    """The hashes a sender needs for these audience rows: phones of sms rows, unionids of wecom rows."""
    phones, unionids = set(), set()
    for r in records:
        if r["channel"] == "sms" and r.get("phone_hash"):
            phones.add(r["phone_hash"])
        elif r["channel"] == "wecom" and r.get("unionid_hash"):
            unionids.add(r["unionid_hash"])
    return {"phone": phones, "unionid": unionids}


def _contacts_read(con: duckdb.DuckDBPyConnection, first: date, last: date, audience: str | None = None) -> Contacts:
    """The contacts of the rows of [first, last] (of one audience, or of all), read on ``con``."""
    cursor = con.execute(
        """
        select channel, phone_hash, unionid_hash from audiences.audience_members
        where as_of_date between ? and ? and (audience = ? or ? is null)
        """,
        [first, last, audience, audience],
    )
    return _contacts(dict(zip(("channel", "phone_hash", "unionid_hash"), row)) for row in cursor.fetchall())


def _records(con: duckdb.DuckDBPyConnection, audience: str, as_of: date) -> list[dict]:
    """The warehouse rows of one (audience, D), in message_key order."""
    cursor = con.execute(
        """
        select * from audiences.audience_members
        where audience = ? and as_of_date = ?
        order by message_key
        """,
        [audience, as_of],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _csv_rows(records: list[dict], pii: dict[str, dict[str, str]]) -> list[dict]:
    """The rows of the file: the CSV columns, with the phone of sms rows and the unionid of
    wecom rows from the pii values."""
    phones, unionids = pii["phone"], pii["unionid"]
    out = []
    for r in records:
        row = {c: r.get(c) for c in CSV_COLUMNS}
        row["phone"] = phones.get(r.get("phone_hash")) if r["channel"] == "sms" else None
        row["unionid"] = unionids.get(r.get("unionid_hash")) if r["channel"] == "wecom" else None
        out.append(row)
    return out


def render_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def _existing(folder: Path, audience: str, as_of: date) -> Emission | None:
    """The set already emitted in ``folder``, if any."""
    if not (folder / "manifest.json").exists():
        return None
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return Emission(audience, as_of, folder, manifest["row_count"], manifest["sha256"], False)


def _write_set(folder: Path, audience: str, as_of: date, rows: list[dict]) -> Emission:
    """Write the set in a hidden sibling folder and rename it into place (atomic); another
    emission that got there first wins and is reported."""
    payload = render_csv(rows)
    digest = hashlib.sha256(payload).hexdigest()
    manifest = {
        "audience": audience,
        "as_of_date": as_of.isoformat(),
        "row_count": len(rows),
        "sha256": digest,
        "file": "audience.csv",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / "audience.csv").write_bytes(payload)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in ("audience.csv", "manifest.json"):
            with open(staging / name, "rb") as handle:
                os.fsync(handle.fileno())
        try:
            os.rename(staging, folder)  # atomic; fails if another emission got there first
        except OSError:
            existing = _existing(folder, audience, as_of)
            if existing is not None:
                return existing
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Emission(audience, as_of, folder, len(rows), digest, True)


def emit_audience(
    warehouse: Settings | Path,
    pii_dir: Path,
    outbox: Path,
    audience: str,
    as_of: date,
    run_days: tuple[date, date] | None = None,
) -> Emission:
    """Emit (audience, D) once. An existing set is left untouched and reported as not emitted.
    ``warehouse``: the run's settings (either engine) or a DuckDB warehouse file. ``run_days``:
    the first and last day the caller emits (every audience), whose contacts are read from the
    pii store together with this set's, so that a run reads the store once."""
    return emit_audience_days(warehouse, pii_dir, outbox, audience, [as_of], run_days)[0]


def emit_audience_days(
    warehouse: Settings | Path,
    pii_dir: Path,
    outbox: Path,
    audience: str,
    days: list[date],
    run_days: tuple[date, date] | None = None,
) -> list[Emission]:
    """:func:`emit_audience` for each of ``days`` (in order), on one warehouse connection and one
    pii lookup for all of them: a first run over 400 days emits 1,200 sets, and opening the
    warehouse and statting the pii store per set cost ≈ 50 ms each. The contacts looked up are
    this audience's from the first to the last day still to emit (and ``run_days``' of every
    audience); each set's rows are read and written on their own."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r} (expected one of {', '.join(AUDIENCES)})")
    emissions: dict[date, Emission] = {}
    pending = []
    for day in days:
        existing = _existing(outbox_folder(outbox, audience, day), audience, day)
        if existing is not None:
            emissions[day] = existing
        else:
            pending.append(day)
    if pending:
        con = open_reader(warehouse)
        try:
            wanted = _contacts_read(con, min(pending), max(pending), audience)
            expected = None if run_days is None else (lambda: _contacts_read(con, *run_days))
            pii = _pii_values(pii_dir, wanted, expected)
            for day in pending:
                rows = _csv_rows(_records(con, audience, day), pii)
                emissions[day] = _write_set(outbox_folder(outbox, audience, day), audience, day, rows)
        finally:
            con.close()
    return [emissions[day] for day in days]
