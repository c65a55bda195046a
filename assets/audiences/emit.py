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
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

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


def _pii_values(pii_dir: Path, wanted: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """{identifier_type: {hash: value}} for the hashes wanted of each type, in one pass over the
    pii store (each pass reads every identifier file: ≈ 1 s at 1 M persons)."""
    pairs = sorted({(kind, h) for kind, hashes in wanted.items() for h in hashes})
    found: dict[str, dict[str, str]] = {kind: {} for kind in wanted}
    if not pairs:
        return found
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
    for kind, identifier_hash, value in rows:
        found[kind][identifier_hash] = value
    return found


def audience_rows(warehouse: Settings | Path, pii_dir: Path, audience: str, as_of: date) -> list[dict]:
    """The rows of one (audience, D) from the warehouse history, with phone/unionid resolved.
    ``warehouse``: the run's settings (either engine) or a DuckDB warehouse file."""
    con = open_reader(warehouse)
    try:
        cursor = con.execute(
            """
            select * from audiences.audience_members
            where audience = ? and as_of_date = ?
            order by message_key
            """,
            [audience, as_of],
        )
        names = [d[0] for d in cursor.description]
        records = [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    pii = _pii_values(
        pii_dir,
        {
            "phone": [r["phone_hash"] for r in records if r["channel"] == "sms" and r.get("phone_hash")],
            "unionid": [r["unionid_hash"] for r in records if r["channel"] == "wecom" and r.get("unionid_hash")],
        },
    )
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


def emit_audience(
    warehouse: Settings | Path, pii_dir: Path, outbox: Path, audience: str, as_of: date
) -> Emission:
    """Emit (audience, D) once. An existing set is left untouched and reported as not emitted."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r} (expected one of {', '.join(AUDIENCES)})")
    folder = outbox_folder(outbox, audience, as_of)
    if (folder / "manifest.json").exists():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return Emission(audience, as_of, folder, manifest["row_count"], manifest["sha256"], False)

    rows = audience_rows(warehouse, pii_dir, audience, as_of)
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
            if (folder / "manifest.json").exists():
                existing = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
                return Emission(audience, as_of, folder, existing["row_count"], existing["sha256"], False)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Emission(audience, as_of, folder, len(rows), digest, True)
