"""Publish the BI-facing schemas to a separate read-only DuckDB file (SPEC §9).

DuckDB allows one read-write process per file, and even a read-only reader conflicts with a
writer in another process. So BI never opens the pipeline's warehouse: after each run the
BI-facing schemas are copied into ``<publish>/memberflow_bi.duckdb``, built aside and swapped in
with an atomic rename. A BI tool holding the old copy open keeps reading it; the next connection
sees the new one.

Most of a day's copy is ``marts.orders`` (12 M rows at 1 M members, where a day changes a few
ten thousand): a table of ``CARRIED`` (the orders, the members, the audience history) is brought
forward from the previous copy instead of copied whole. The new file starts as a byte copy of
the previous one; the rows whose content differs from the warehouse's (compared by key and a
hash of the whole row) are deleted and inserted again, which leaves the table equal to the
warehouse's. Everything else is copied whole.
The previous copy is not trusted for anything but content: a table whose columns changed, a key
that is null, a file more than half free space (DuckDB reuses freed blocks, so this is rare) or
a copy that cannot be opened makes a whole copy.

Finding those rows hashes every row on both sides (2.7 s at 1 M). A CARRIED table that is a view
of a kept table (``CARRIED_FROM``; dbt_project/macros/engine/kept_tables.sql) skips that: the copy
records, in ``main.published_from``, the kept table's comment (its D and the dbt build that made
it) and the view's SQL as it copied them. When the kept table's delta starts from exactly that
build and the view is the same, the keys in the delta are the only ones whose rows may differ,
and only they are replaced. Anything else (no record, another build, a table rebuilt whole, a
Spark warehouse) compares every row as above. This trusts that only dbt writes the kept table:
a row changed by hand is not in any delta. A copy whose row count then differs from the
warehouse's is compared row by row at once; otherwise the next whole rebuild of the table (or
deleting the BI file) heals it.
"""

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
import duckdb

from assets.dbt import memberflow_dbt_assets
from orchestration.engine import attach_warehouse
from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_WRITER_POOL, MemberflowConfig
from orchestration.settings import Settings

BI_SCHEMAS = ("marts", "quality", "audiences")
BI_FILE_NAME = "memberflow_bi.duckdb"
# (schema, table) → its key: brought forward from the previous copy by the rows that changed.
# Besides the orders, the tables a day changes little but that cost most to copy whole (at 1 M
# persons: members 0.8 s against 0.25 s to compare its 0.3 M rows, the audience history 0.6 s
# against 0.17 s); the tables whose rows all carry D (member_facts, member_tiers, ...) change
# every row every day and are copied whole.
CARRIED = {
    ("marts", "orders"): "order_key",
    ("marts", "members"): "one_id",
    ("audiences", "audience_members"): "message_key",
}
# (schema, table) of CARRIED → (schema, table, kind) of the kept table it is a view of, whose delta
# lists the keys it recomputed
CARRIED_FROM = {("marts", "orders"): ("intermediate", "int_orders__unified", "orders")}


@dataclass
class Published:
    rows: dict[str, int]  # "schema.table" → rows in the new copy
    # "schema.table" → rows replaced, for the CARRIED tables brought forward from the last copy
    carried: dict[str, int] = field(default_factory=dict)
    # the CARRIED tables whose rows to replace came from their kept table's delta
    by_delta: set[str] = field(default_factory=set)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def _previous_copy(target: Path, staging: Path) -> bool:
    """Start ``staging`` as a byte copy of the last published file when it is worth bringing
    forward (it opens, and at most half of it is free blocks); False: start empty."""
    if not target.is_file():
        return False
    shutil.copyfile(target, staging)
    try:
        con = duckdb.connect(str(staging))
        try:
            used, free = con.execute("select used_blocks, free_blocks from pragma_database_size()").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        used, free = 0, 1
    if free > used:
        staging.unlink()
        return False
    return True


def _count(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> int:
    return con.execute(f"select count(*) from {_q(catalog)}.{_q(schema)}.{_q(table)}").fetchone()[0]


def _wh_comment(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """The comment of a table of the attached warehouse (None: no such table, or none)."""
    found = con.execute(
        "select comment from duckdb_tables() where database_name = 'wh' and schema_name = ? and table_name = ?",
        [schema, table]).fetchone()
    return found[0] if found else None


def _source_state(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """What the warehouse's CARRIED view is made of now: the comment of the kept table it shows
    and the view's SQL; None when it is not such a view (or the catalog cannot tell)."""
    if (schema, table) not in CARRIED_FROM:
        return None
    kept_schema, kept_table, _ = CARRIED_FROM[(schema, table)]
    try:
        comment = _wh_comment(con, kept_schema, kept_table)
        view = con.execute(
            "select sql from duckdb_views() where database_name = 'wh' and schema_name = ? and view_name = ?",
            [schema, table]).fetchone()
    except duckdb.Error:
        return None
    if not comment or not view or not view[0]:
        return None
    return comment + "\n" + view[0]


def _delta_keys(con: duckdb.DuckDBPyConnection, schema: str, table: str, key: str, copied: str | None) -> str | None:
    """A query of the keys whose rows may differ from the copy's, from the kept table's delta,
    when that delta starts from the very build the copy recorded (``copied``, _source_state then)
    and the view is unchanged; None otherwise."""
    now = _source_state(con, schema, table)
    if copied is None or now is None or "\n" not in copied:
        return None
    (copied_comment, copied_view), (comment, view) = copied.split("\n", 1), now.split("\n", 1)
    kept_schema, kept_table, kind = CARRIED_FROM[(schema, table)]
    prefix = ["memberflow", kind, "as", "of"]
    before, after = copied_comment.split(), comment.split()
    if view != copied_view or before[:4] != prefix or after[:4] != prefix or len(before) < 5 or len(after) < 5:
        return None
    runs = [before[i + 1] for i in range(len(before) - 1) if before[i] == "run"]
    if not runs:
        return None
    delta = f"{kept_table}__delta"
    try:
        if _wh_comment(con, kept_schema, delta) != f"memberflow {kind}_delta as of {after[4]} from {before[4]} run {runs[0]}":
            return None
        if key not in {c for c, _ in _columns(con, "wh", kept_schema, delta)}:
            return None
    except duckdb.Error:
        return None
    return f"select {_q(key)} from wh.{_q(kept_schema)}.{_q(delta)}"


def _bring_forward(con: duckdb.DuckDBPyConnection, schema: str, table: str, key: str,
                   keys: str | None = None) -> int | None:
    """Make the copy's table equal to the warehouse's by replacing the rows of every key whose
    row differs (or exists on one side only), or of every key ``keys`` (a query) lists; the number
    of keys replaced, or None when the table cannot be brought forward (then it is copied whole)."""
    here = con.execute("select current_database()").fetchone()[0]
    columns = _columns(con, "wh", schema, table)
    if not columns or _columns(con, here, schema, table) != columns or key not in {c for c, _ in columns}:
        return None
    row_hash = "hash(" + ", ".join(_q(c) for c, _ in columns) + ")"
    name, source = f"{_q(schema)}.{_q(table)}", f"wh.{_q(schema)}.{_q(table)}"
    if keys is not None:
        con.execute(f"create or replace temp table changed_keys as "
                    f"select distinct k, k is null as null_key from ({keys}) listed (k)")
    else:
        con.execute(
            f"create or replace temp table changed_keys as "
            f"select coalesce(n.k, o.k) as k, n.k is null and o.k is null as null_key "
            f"from (select {_q(key)} as k, {row_hash} as h from {source}) n "
            f"full outer join (select {_q(key)} as k, {row_hash} as h from {name}) o on o.k = n.k "
            f"where n.h is distinct from o.h"
        )
    changed, null_keys = con.execute("select count(*), count(*) filter (where null_key) from changed_keys").fetchone()
    if null_keys:
        con.execute("drop table changed_keys")
        return None
    if changed:
        con.execute(f"delete from {name} where {_q(key)} in (select k from changed_keys)")
        con.execute(f"insert into {name} select * from {source} where {_q(key)} in (select k from changed_keys)")
    con.execute("drop table changed_keys")
    return changed


def publish_bi_copy(warehouse: Settings | Path, publish_dir: Path) -> Published:
    """Write the BI schemas' tables and views, as tables, to a new copy and swap it in."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    target = publish_dir / BI_FILE_NAME
    staging = publish_dir / f".{BI_FILE_NAME}.{os.getpid()}.tmp"
    staging.unlink(missing_ok=True)
    _previous_copy(target, staging)
    published = Published(rows={})
    con = duckdb.connect(str(staging))
    try:
        if isinstance(warehouse, Settings):  # either engine (Spark: its tables' Parquet)
            attach_warehouse(con, warehouse, "wh")
        else:
            con.execute(f"attach '{warehouse}' as wh (read_only)")
        schemas = f"({', '.join(repr(s) for s in BI_SCHEMAS)})"
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = 'wh' and table_schema in {schemas} order by 1, 2"
        ).fetchall()
        here = con.execute("select current_database()").fetchone()[0]
        try:  # what the previous copy's CARRIED tables were copied from (_source_state then)
            copied_from = {(sc, tb): src for sc, tb, src in con.execute(
                "select table_schema, table_name, source from main.published_from").fetchall()}
        except duckdb.Error:
            copied_from = {}
        held = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_catalog = ? and (table_schema in {schemas} or table_schema = 'main')", [here]
        ).fetchall()
        carried = []
        for schema, table, kind in held:
            if kind == "BASE TABLE" and (schema, table) in CARRIED and (schema, table) in tables:
                carried.append((schema, table))
            else:
                con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {_q(schema)}.{_q(table)}")
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"create schema if not exists {_q(schema)}")
        for schema, table in tables:
            name = f"{_q(schema)}.{_q(table)}"
            replaced = None
            if (schema, table) in carried:
                keys = _delta_keys(con, schema, table, CARRIED[(schema, table)], copied_from.get((schema, table)))
                replaced = _bring_forward(con, schema, table, CARRIED[(schema, table)], keys)
                if keys is not None and (replaced is None or _count(con, "wh", schema, table) != _count(con, here, schema, table)):
                    # a null key listed, or the copy's rows do not add up (the table was changed
                    # outside dbt): compare every row
                    keys = None
                    replaced = _bring_forward(con, schema, table, CARRIED[(schema, table)])
                if replaced is None:
                    con.execute(f"drop table {name}")
                else:
                    published.carried[f"{schema}.{table}"] = replaced
                    if keys is not None:
                        published.by_delta.add(f"{schema}.{table}")
            if replaced is None:
                con.execute(f"create table {name} as select * from wh.{name}")
            published.rows[f"{schema}.{table}"] = _count(con, here, schema, table)
        con.execute(
            "create table main.published_at as select cast(? as timestamp) as published_at_utc",
            [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())],
        )
        con.execute("create table main.published_from (table_schema varchar, table_name varchar, source varchar)")
        for schema, table in CARRIED:
            source = _source_state(con, schema, table) if (schema, table) in tables else None
            if source is not None:
                con.execute("insert into main.published_from values (?, ?, ?)", [schema, table, source])
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(staging, target)
    return published


@dg.asset(
    key=dg.AssetKey(["publish", "bi_copy"]),
    group_name="publish",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITER_POOL,
    deps=[memberflow_dbt_assets],
    kinds={"duckdb"},
    description=(
        "A read-only copy of the marts, quality and audiences schemas for BI tools, swapped in "
        "atomically after each run: `<publish>/memberflow_bi.duckdb`."
    ),
)
def bi_copy(context: AssetExecutionContext, memberflow: MemberflowConfig) -> dg.MaterializeResult:
    settings = memberflow.settings()
    published = publish_bi_copy(settings, settings.publish_dir)
    carried = ", ".join(f"{t} brought forward ({n:,} rows replaced, "
                        f"{'listed by its delta' if t in published.by_delta else 'found by comparing rows'})"
                        for t, n in published.carried.items())
    context.log.info(f"published {len(published.rows)} tables to {settings.publish_dir / BI_FILE_NAME}"
                     + (f"; {carried}" if carried else ""))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.publish_dir / BI_FILE_NAME)),
            "tables": len(published.rows),
            "rows": dg.MetadataValue.json(published.rows),
            "rows_replaced": dg.MetadataValue.json(published.carried),
            "replaced_by_delta": dg.MetadataValue.json(sorted(published.by_delta)),
        }
    )
