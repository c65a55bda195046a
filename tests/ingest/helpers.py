"""Helpers shared by the ingestion tests."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.ingest.hashing import hash_identifier
from orchestration.settings import DEV_HMAC_KEY

TZ = "Asia/Shanghai"
D0501 = date(2024, 5, 1)
D0503 = date(2024, 5, 3)


def samples_dir() -> Path:
    """/work/shared/samples next to the repository, or MEMBERFLOW_SAMPLES."""
    env = os.environ.get("MEMBERFLOW_SAMPLES")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def h(identifier_type: str, value: str) -> str:
    """The expected HMAC of an identifier under the development key."""
    return hash_identifier(DEV_HMAC_KEY, identifier_type, value)


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a landing file (creating its folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def by_line(table: pa.Table) -> dict[int, dict]:
    return {row["line_no"]: row for row in table.to_pylist()}


def string_values(root: Path) -> list[str]:
    """Every string cell and every file name of every Parquet file under ``root``."""
    out: list[str] = []
    for path in sorted(root.rglob("*.parquet")):
        out.append(str(path.relative_to(root)))
        table = pq.read_table(path)
        for field, column in zip(table.schema, table.columns):
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                out.extend(v for v in column.to_pylist() if v is not None)
    return out


def snapshot(*roots: Path) -> dict[str, bytes]:
    """Every file under the roots with its bytes."""
    return {
        str(p): p.read_bytes() for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()
    }
