"""Floors and baselines the benchmark measures on the same data, in the same run.

- scan floor: a plain DuckDB query that scans every raw order table and aggregates per buyer key;
- components floor: scipy's connected components over the identifier edges of every record;
- pandas RFM: what an analyst would write in pandas for recency / frequency / monetary + scores.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_ORDER_TABLES = {
    "pos_lines": ("coalesce(phone_hash, openid_hash, member_card_hash)", "paid_amount_yuan"),
    "meituan_orders": ("coalesce(phone_hash, meituan_user_hash)", "paid_amount_yuan"),
    "eleme_orders": ("coalesce(phone_hash, eleme_user_hash)", "paid_amount_yuan"),
    "miniprogram_orders": (
        "coalesce(phone_hash, unionid_hash, openid_hash)",
        "cast(paid_fen as decimal(18, 2)) / 100",
    ),
}

_RECORD_IDENTIFIERS = {
    "pos_lines": ["phone_hash", "openid_hash", "member_card_hash"],
    "meituan_orders": ["phone_hash", "meituan_user_hash"],
    "eleme_orders": ["phone_hash", "eleme_user_hash"],
    "miniprogram_orders": ["phone_hash", "openid_hash", "unionid_hash", "member_id_hash"],
    "miniprogram_members": [
        "phone_hash",
        "openid_hash",
        "unionid_hash",
        "member_id_hash",
        "member_card_hash",
    ],
}


def _glob(raw: Path, table: str) -> str:
    return f"read_parquet('{raw}/{table}/*/*.parquet', union_by_name = true)"


def scan_floor(raw: Path) -> dict[str, float]:
    """Scan all raw orders and sum the paid amount per buyer key."""
    started = time.perf_counter()
    con = duckdb.connect()
    union = " union all ".join(
        f"select {key} as buyer, {amount} as amount from {_glob(raw, t)}"
        for t, (key, amount) in _ORDER_TABLES.items()
    )
    rows = con.execute(
        f"select count(*), sum(n) from (select buyer, count(*) as n, sum(amount) from ({union}) group by buyer)"
    ).fetchone()
    con.close()
    return {"seconds": time.perf_counter() - started, "buyers": rows[0], "rows": int(rows[1] or 0)}


def components_floor(raw: Path) -> dict[str, float]:
    """Star edges per record (first identifier to each other), then scipy connected components."""
    started = time.perf_counter()
    con = duckdb.connect()
    parts = []
    for table, cols in _RECORD_IDENTIFIERS.items():
        anchor = f"coalesce({', '.join(cols)})"
        for col in cols:
            parts.append(
                f"select {anchor} as a, {col} as b from {_glob(raw, table)} where {col} is not null"
            )
    con.execute(f"create table edges as {' union all '.join(parts)}")
    con.execute(
        "create table nodes as select v, (row_number() over ()) - 1 as id from "
        "(select a as v from edges union select b from edges)"
    )
    ids = con.execute(
        "select na.id as s, nb.id as t from edges e join nodes na on na.v = e.a join nodes nb on nb.v = e.b"
    ).fetchnumpy()
    n = con.execute("select count(*) from nodes").fetchone()[0]
    con.close()
    src, dst = np.asarray(ids["s"]), np.asarray(ids["t"])
    setup = time.perf_counter() - started
    cc_started = time.perf_counter()
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    count, _ = connected_components(graph, directed=False)
    cc = time.perf_counter() - cc_started
    return {
        "seconds": time.perf_counter() - started,
        "components_seconds": cc,
        "edge_load_seconds": setup,
        "nodes": n,
        "edges": len(src),
        "components": count,
    }


def pandas_rfm(warehouse: Path, as_of: date) -> dict[str, float]:
    """An analyst's pandas RFM over marts.orders: read, filter, group, score by quintile rank."""
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse), read_only=True)
    orders = con.execute(
        "select one_id, business_date, net_amount_yuan from marts.orders "
        "where is_valid and one_id is not null"
    ).df()
    con.close()
    orders["net_amount_yuan"] = orders["net_amount_yuan"].astype(float)
    orders["business_date"] = pd.to_datetime(orders["business_date"])
    d = pd.Timestamp(as_of)
    window = orders[orders["business_date"] > d - pd.Timedelta(days=365)]
    rfm = window.groupby("one_id").agg(
        last=("business_date", "max"), frequency=("net_amount_yuan", "size"), monetary=("net_amount_yuan", "sum")
    )
    rfm["recency"] = (d - rfm["last"]).dt.days
    n = len(rfm)
    for col, ascending in (("recency", False), ("frequency", True), ("monetary", True)):
        c = rfm[col].rank(method="max", ascending=ascending)
        rfm[f"{col[0]}_score"] = np.ceil(5 * c / max(n, 1)).astype(int)
    return {"seconds": time.perf_counter() - started, "members": n}


def step_seconds(run_ids: list[str]) -> dict[str, float]:
    """Wall seconds of every step of the given Dagster runs (the instance of DAGSTER_HOME), plus
    each run's time before its first step starts (launch, resources) as ``<job> start``. A step
    that runs dbt also gets ``<step>: before dbt`` (its start → dagster-dbt's "Running dbt
    command" log line) and ``<step>: after dbt`` ("Finished dbt command" → the step's end: since
    the events are stored while dbt runs, what the step does after dbt exits)."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    out: dict[str, float] = {}
    for run_id in run_ids:
        logs = instance.all_logs(run_id)
        run = instance.get_run_by_id(run_id)
        started: dict[str, float] = {}
        dbt_finished: dict[str, float] = {}
        first = None
        for entry in logs:
            event = entry.dagster_event
            if event is None:
                message = entry.user_message or ""
                if entry.step_key in started and message.startswith("Running dbt command"):
                    out[f"{entry.step_key}: before dbt"] = entry.timestamp - started[entry.step_key]
                elif entry.step_key in started and message.startswith("Finished dbt command"):
                    dbt_finished[entry.step_key] = entry.timestamp
                continue
            if event.event_type_value == "STEP_START":
                started[event.step_key] = entry.timestamp
                first = entry.timestamp if first is None else first
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
                out[event.step_key] = entry.timestamp - started[event.step_key]
                if event.step_key in dbt_finished:
                    out[f"{event.step_key}: after dbt"] = entry.timestamp - dbt_finished[event.step_key]
        if logs and first is not None:
            out[f"{run.job_name} start"] = first - logs[0].timestamp
    return out


def pairwise_quality(truth_orders: Path, warehouse: Path) -> dict[str, float]:
    """Pairwise precision / recall of "same person" over identified orders vs the ground truth.

    Computed with counts (pairs within each group), never by listing pairs, so it scales."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            f"""
            with truth as (
                select source, case when source = 'pos' then store_code end as store_code,
                       order_id, person_id
                from read_parquet('{truth_orders}') where not is_malformed and person_id is not null
            ),
            got as (
                select source, case when source = 'pos' then store_code end as store_code,
                       order_id, one_id
                from marts.orders where one_id is not null
            ),
            joined as (
                select t.person_id, g.one_id from truth t
                left join got g using (source, store_code, order_id)
            ),
            pairs_truth as (select sum(n * (n - 1) / 2) as p from (select count(*) as n from joined group by person_id)),
            pairs_got as (select sum(n * (n - 1) / 2) as p from (select count(*) as n from joined where one_id is not null group by one_id)),
            pairs_both as (select sum(n * (n - 1) / 2) as p from (select count(*) as n from joined where one_id is not null group by person_id, one_id))
            select (select p from pairs_truth), (select p from pairs_got), (select p from pairs_both)
            """
        ).fetchone()
    finally:
        con.close()
    truth_pairs, got_pairs, both = (float(x or 0) for x in row)
    return {
        "precision": both / got_pairs if got_pairs else 1.0,
        "recall": both / truth_pairs if truth_pairs else 1.0,
    }
