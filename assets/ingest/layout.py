"""Where raw Parquet lives, and the empty typed files that let dbt read a table with no delivery."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest.schemas import PII_TABLES, RAW_TABLES

EMPTY_DIR = "_empty"


def table_dir(root: Path, table: str) -> Path:
    return root / table


def partition_dir(root: Path, table: str, delivery_date: str) -> Path:
    return root / table / delivery_date


def ensure_raw_layout(raw_dir: Path, pii_dir: Path | None = None) -> None:
    """Write ``<table>/_empty/empty.parquet`` (no rows, full schema) for every table, once."""
    targets = [(raw_dir, RAW_TABLES)]
    if pii_dir is not None:
        targets.append((pii_dir, PII_TABLES))
    for root, tables in targets:
        for table, schema in tables.items():
            path = root / table / EMPTY_DIR / "empty.parquet"
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".parquet.tmp")
            pq.write_table(pa.Table.from_pylist([], schema=schema), tmp)
            tmp.replace(path)
