"""A short, human summary of a finished run, read from the warehouse (read-only)."""

from __future__ import annotations

import duckdb

from orchestration.engine import open_warehouse
from orchestration.settings import Settings

_QUERIES = [
    ("orders", "select count(*) || ' (' || count(one_id) || ' with a one_id)' from marts.orders"),
    ("members", "select count(*) as registered_members from marts.members"),
    ("lifecycle", "select lifecycle, count(*) as n from marts.member_facts group by 1 order by 2 desc"),
    ("rfm segments", "select rfm_segment, count(*) as n from marts.member_facts where rfm_segment is not null group by 1 order by 2 desc"),
    ("tiers", "select tier, count(*) as n from marts.member_tiers group by 1 order by 2 desc"),
    ("audiences", "select audience, as_of_date, count(*) as n from audiences.audience_members group by 1, 2 order by 2 desc, 1 limit 9"),
    ("quarantine", "select source, count(*) as n from quality.quarantine group by 1 order by 1"),
]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}


def print_summary(settings: Settings) -> None:
    path = settings.warehouse_path if settings.engine == "duckdb" else settings.spark_warehouse_dir
    if not path.exists():
        print(f"no warehouse at {path}")
        return
    con = open_warehouse(settings)
    try:
        existing = _tables(con)
        print(f"\nwarehouse: {path}")
        for title, sql in _QUERIES:
            table = sql.split(" from ")[1].split()[0]
            if table not in existing:
                continue
            rows = con.execute(sql).fetchall()
            cells = ", ".join(" ".join(str(c) for c in row) for row in rows) or "none"
            print(f"  {title:<13} {cells}")
    finally:
        con.close()
    print(f"  outbox        {settings.outbox_dir}")
    print(f"  BI copy       {settings.publish_dir}")
