"""Write raw-layer Parquet for tests, without going through ingestion.

The raw contract is ``assets/ingest/schemas.py``: ``<raw>/<table>/<delivery date>/<source>.parquet`` (any
file name under the day's folder is read).
:func:`write_raw` fills every column a row leaves out with ``None`` and the lineage columns
(``delivery_date``, ``file_name``, ``line_no``) automatically, so a scenario states only what it
is about::

    write_raw(raw, "pos_lines", [{"store_code": "SH001", "order_no": "A1", ...}],
              delivery_date="2024-05-01", file_name="pos_20240501.csv")

Values may be given as strings for dates (``"2024-05-01"``), timestamps (``"2024-05-01 12:00:00"``)
and money (``"12.50"`` or a number); ``business_date`` defaults to the date of the row's
``order_ts_local`` / ``event_ts_local``. :func:`write_file_load` records the delivery in
``file_loads`` (its sha256 decides whether a re-delivery is identical).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest.schemas import RAW_TABLES

__all__ = ["write_raw", "write_file_load", "content_sha256"]


def _to_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _to_ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).replace("T", " ")
    return datetime.fromisoformat(text if len(text) > 10 else text + " 00:00:00")


def _coerce(value: Any, arrow_type: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_date32(arrow_type):
        return _to_date(value)
    if pa.types.is_timestamp(arrow_type):
        ts = _to_ts(value)
        if arrow_type.tz is not None and ts is not None and ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return ts
    if pa.types.is_decimal(arrow_type):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if pa.types.is_integer(arrow_type):
        return int(value)
    if pa.types.is_boolean(arrow_type):
        return bool(value)
    return str(value)


def _complete(table: str, rows: list[dict[str, Any]], delivery_date: str, file_name: str) -> list[dict]:
    schema = RAW_TABLES[table]
    unknown = {key for row in rows for key in row} - set(schema.names)
    if unknown:
        raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
    out = []
    for index, row in enumerate(rows, start=1):
        full = dict(row)
        if "delivery_date" in schema.names:
            full.setdefault("delivery_date", delivery_date)
            full.setdefault("file_name", file_name)
        if "line_no" in schema.names:
            full.setdefault("line_no", index + 1 if file_name.endswith(".csv") else index)
        if "business_date" in schema.names and full.get("business_date") is None:
            ts = full.get("order_ts_local") or full.get("event_ts_local")
            full["business_date"] = _to_date(ts) if ts is not None else None
        out.append({name: _coerce(full.get(name), schema.field(name).type) for name in schema.names})
    return out


def content_sha256(rows: list[dict[str, Any]]) -> str:
    """A stand-in for a landing file's sha256: equal rows give an equal digest."""
    text = repr(sorted(repr(sorted(row.items())) for row in rows))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_raw(
    raw_dir: Path | str,
    table: str,
    rows: list[dict[str, Any]],
    delivery_date: str = "2024-05-01",
    file_name: str = "t.csv",
) -> Path:
    """Write ``rows`` as the Parquet of one landing file; returns the Parquet path.

    Missing columns are ``None``; ``delivery_date``/``file_name`` come from the arguments and
    ``line_no`` counts from 2 for ``.csv`` files (line 1 is the header) and from 1 otherwise.
    """
    if table not in RAW_TABLES:
        raise KeyError(f"unknown raw table {table!r}; known: {sorted(RAW_TABLES)}")
    schema = RAW_TABLES[table]
    arrow = pa.Table.from_pylist(_complete(table, rows, delivery_date, file_name), schema=schema)
    path = Path(raw_dir) / table / str(delivery_date) / f"{file_name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, path)
    return path


def write_file_load(
    raw_dir: Path | str,
    source: str,
    delivery_date: str,
    file_name: str,
    sha256: str,
    rows_read: int = 0,
    rows_loaded: int | None = None,
    rows_quarantined: int = 0,
) -> Path:
    """Record one landing-file delivery in ``file_loads`` (one Parquet per delivery)."""
    row = {
        "source": source,
        "delivery_date": delivery_date,
        "file_name": file_name,
        "sha256": sha256,
        "encoding": "utf-8",
        "rows_read": rows_read,
        "rows_loaded": rows_read - rows_quarantined if rows_loaded is None else rows_loaded,
        "rows_quarantined": rows_quarantined,
        "loaded_at": datetime(2024, 1, 1, tzinfo=timezone.utc),
    }
    return write_raw(raw_dir, "file_loads", [row], delivery_date, f"{source}__{file_name}")
