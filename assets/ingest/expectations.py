"""Great Expectations 1.x suites for the rows ingestion loads into the raw layer.

One ephemeral GX context per process with a pandas data source, created on first use; each raw
table gets its whole-dataframe batch definition and expectation suite the first time it is
validated. Validating a partition then costs only the validation itself (about 30 ms per
expectation of fixed overhead, so validating a whole backfill range at once is far cheaper than
one call per day). The suites are a safety net behind the parsers:
parsers quarantine what breaks the contract, so a failure here means a parser let something
through and is worth a look (keys present, business dates plausible, statuses and pay methods
known, amounts of the right sign, hashes 64 hex characters, phones only hashed when valid).

``validate_rows("pos_lines", df)`` → ``{"success", "evaluated", "failed", "unexpected_counts"}``;
``failed`` holds one plain-language line per failed expectation.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SUITE_TABLES", "validate_rows", "validate_table"]

MIN_DATE = datetime(2000, 1, 1)
MAX_DATE = datetime(2100, 1, 1)
HASH_LENGTH = 64

PAY_METHODS = ["wechat", "alipay", "cash", "unionpay", "card", "stored_value"]
PHONE_STATUSES = ["valid", "empty", "masked", "privacy", "invalid"]
_DATE_COLUMNS = ("delivery_date", "business_date")

_lock = threading.Lock()
_state: dict[str, Any] = {}


# ----------------------------------------------------------------------------- suite definitions
# Each entry: (description, expectation class name, keyword arguments). The description is what
# a person reads when it fails.

Spec = tuple[str, str, dict[str, Any]]


def _not_null(*columns: str) -> list[Spec]:
    return [(f"{c} is never null", "ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _in_set(column: str, values: list[str]) -> Spec:
    return (
        f"{column} is one of {', '.join(values)}",
        "ExpectColumnValuesToBeInSet",
        {"column": column, "value_set": values},
    )


def _at_least(column: str, minimum: float = 0, where: str | None = None) -> Spec:
    kwargs: dict[str, Any] = {"column": column, "min_value": minimum}
    text = f"{column} >= {minimum:g}"
    if where:
        kwargs.update(row_condition=where, condition_parser="pandas")
        text += f" where {where}"
    return (text, "ExpectColumnValuesToBeBetween", kwargs)


def _at_most(column: str, maximum: float, where: str) -> Spec:
    return (
        f"{column} <= {maximum:g} where {where}",
        "ExpectColumnValuesToBeBetween",
        {"column": column, "max_value": maximum, "row_condition": where, "condition_parser": "pandas"},
    )


def _hashes(*columns: str) -> list[Spec]:
    return [
        (
            f"{c} is a {HASH_LENGTH}-character HMAC or null",
            "ExpectColumnValueLengthsToEqual",
            {"column": c, "value": HASH_LENGTH},
        )
        for c in columns
    ]


def _phone() -> list[Spec]:
    return [
        _in_set("phone_status", PHONE_STATUSES),
        (
            "phone_hash is set for every valid phone",
            "ExpectColumnValuesToNotBeNull",
            {"column": "phone_hash", "row_condition": 'phone_status=="valid"', "condition_parser": "pandas"},
        ),
        (
            "phone_hash is null unless the phone is valid",
            "ExpectColumnValuesToBeNull",
            {"column": "phone_hash", "row_condition": 'phone_status!="valid"', "condition_parser": "pandas"},
        ),
        (
            "phone_masked looks like 138****5678",
            "ExpectColumnValuesToMatchRegex",
            {"column": "phone_masked", "regex": r"^1\d{2}\*{4}\d{4}$"},
        ),
    ]


def _lineage_and_date() -> list[Spec]:
    return [
        *_not_null("delivery_date", "file_name", "line_no", "business_date"),
        _at_least("line_no", 1),
        (
            "one row per (delivery_date, file_name, line_no)",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["delivery_date", "file_name", "line_no"]},
        ),
        (
            "business_date is between 2000-01-01 and 2100-01-01",
            "ExpectColumnValuesToBeBetween",
            {"column": "business_date", "min_value": MIN_DATE, "max_value": MAX_DATE},
        ),
    ]


def _not_more(a: str, b: str) -> Spec:
    return (
        f"{b} <= {a}",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": a, "column_B": b, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
    )


SUITES: dict[str, Callable[[], list[Spec]]] = {
    "pos_lines": lambda: [
        *_lineage_and_date(),
        *_not_null("store_code", "order_no", "order_type", "order_ts_local", "pay_method",
                   "gross_amount_yuan", "discount_amount_yuan", "paid_amount_yuan"),
        _in_set("order_type", ["SALE", "REFUND"]),
        _in_set("pay_method", PAY_METHODS),
        _at_least("paid_amount_yuan", 0, where='order_type=="SALE"'),
        _at_most("paid_amount_yuan", 0, where='order_type=="REFUND"'),
        *_hashes("member_card_hash", "phone_hash", "openid_hash"),
        *_phone(),
    ],
    "meituan_orders": lambda: [
        *_lineage_and_date(),
        *_not_null("order_id", "order_ts_local", "status", "original_amount_yuan",
                   "paid_amount_yuan", "refund_amount_yuan"),
        ("order_id is digits only", "ExpectColumnValuesToMatchRegex",
         {"column": "order_id", "regex": r"^\d{1,30}$"}),
        _in_set("status", ["completed", "cancelled", "refunded", "partially_refunded"]),
        *[_at_least(c) for c in ("original_amount_yuan", "paid_amount_yuan", "merchant_income_yuan",
                                 "platform_subsidy_yuan", "merchant_subsidy_yuan",
                                 "delivery_fee_yuan", "commission_yuan", "refund_amount_yuan")],
        _not_more("paid_amount_yuan", "refund_amount_yuan"),
        *_hashes("meituan_user_hash", "phone_hash"),
        *_phone(),
    ],
    "eleme_orders": lambda: [
        *_lineage_and_date(),
        *_not_null("order_id", "order_ts_local", "status", "paid_amount_yuan", "refund_amount_yuan"),
        _in_set("status", ["settled", "cancelled", "refunded"]),
        *[_at_least(c) for c in ("original_amount_yuan", "paid_amount_yuan", "income_yuan",
                                 "refund_amount_yuan", "item_count")],
        _not_more("paid_amount_yuan", "refund_amount_yuan"),
        *_hashes("eleme_user_hash", "phone_hash"),
        *_phone(),
    ],
    "miniprogram_orders": lambda: [
        *_lineage_and_date(),
        *_not_null("order_id", "order_ts_local", "status", "total_fen", "discount_fen", "paid_fen",
                   "refund_fen", "points_redeemed"),
        _in_set("status", ["paid", "cancelled", "refunded"]),
        _in_set("fulfillment", ["pickup", "delivery", "dine_in"]),
        *[_at_least(c) for c in ("total_fen", "discount_fen", "paid_fen", "refund_fen",
                                 "points_redeemed", "item_count")],
        _not_more("paid_fen", "refund_fen"),
        *_hashes("openid_hash", "unionid_hash", "member_id_hash", "phone_hash"),
        *_phone(),
    ],
    "miniprogram_members": lambda: [
        *_lineage_and_date(),
        *_not_null("event", "event_ts_local", "member_id", "member_id_hash"),
        _in_set("event", ["register", "update", "unsubscribe", "delete"]),
        _in_set("gender", ["F", "M", "U"]),
        _in_set("register_source", ["store_recruit", "referral", "fission", "natural", "returning"]),
        ("birth_month is 1-12", "ExpectColumnValuesToBeBetween",
         {"column": "birth_month", "min_value": 1, "max_value": 12}),
        *_hashes("member_id_hash", "openid_hash", "unionid_hash", "phone_hash", "member_card_hash"),
        *_phone(),
    ],
}
SUITE_TABLES = tuple(SUITES)


# ---------------------------------------------------------------------------------------- context


def _context() -> dict[str, Any]:
    """The process's GX context and pandas data source (built once)."""
    if _state:
        return _state
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with _gx_import():
        import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch by hashing all its cells (a marker it never uses in
    # validation); that costs as much as the whole suite. Frames above this size are not hashed.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("memberflow_raw")
    _state.update(context=context, source=source, entries={})
    return _state


class _Deferred(types.ModuleType):
    """A stand-in for a module that is imported only when one of its attributes is first read
    (and then for good: the stand-in forwards to it)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__spec__ = None  # the import system takes a module without a spec as loaded

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__["_real"] = real
        return getattr(real, attr)


# Imported by GX at start-up for what memberflow's suites never run: scipy.stats for one
# expectation (KL divergence, ≈ 1.5 s: scipy.optimize, scipy.spatial, ...) and altair for its
# charts. Deferred, they are imported when first used, if ever.
_DEFERRED = ("scipy.stats", "altair")


@contextlib.contextmanager
def _gx_import() -> Iterator[None]:
    """The import of GX, without what it imports for features memberflow does not use.

    - pyspark (and its ML and Connect modules), for Spark data sources (≈ 0.1 s of the ≈ 2.7 s
      GX takes to start). And pyspark exits the process (status 0) when ``__main__`` has no file,
      taking it for a doctest run: so it does under ``python -c``, a pytest-xdist worker or a
      stage script fed through a pipe. While GX is imported, pyspark cannot be (GX falls back
      to "not installed" as it would without it); afterwards it can again. A process that has
      already imported pyspark keeps it.
    - the modules of ``_DEFERRED``: GX gets stand-ins that import them on first use. Afterwards
      the stand-ins leave ``sys.modules``, so that any other import gets the real module.
    """
    block = "pyspark" not in sys.modules
    if block:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # import pyspark → ImportError
    deferred = [name for name in _DEFERRED if name not in sys.modules]
    for name in deferred:
        sys.modules[name] = _Deferred(name)
    try:
        yield
    finally:
        if block and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]
        for name in deferred:
            if isinstance(sys.modules.get(name), _Deferred):
                del sys.modules[name]


def _entry(table: str) -> tuple[Any, Any, dict[str, str]]:
    """The batch definition, suite and descriptions of one table (built on first use: a Dagster
    run process usually validates a single table)."""
    state = _context()
    entries = state["entries"]
    if table not in entries:
        import great_expectations as gx

        batch_definition = state["source"].add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(
            f"{table}__whole"
        )
        # the whole suite handed to the context at once: added one by one to a suite the context
        # holds, each expectation reads and writes the whole suite in its store again
        suite = state["context"].suites.add(gx.ExpectationSuite(
            name=f"raw__{table}",
            expectations=[getattr(gx.expectations, class_name)(**kwargs, description=description)
                          for description, class_name, kwargs in SUITES[table]()],
        ))
        descriptions = {str(expectation.id): expectation.description for expectation in suite.expectations}
        entries[table] = (batch_definition, suite, descriptions)
    return entries[table]


# ------------------------------------------------------------------------------------- validation


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Money (Decimal objects) as float for range checks and dates as datetime64[ns] (GX compares
    those vectorized; any other datetime unit it compares value by value): fast, and the
    comparisons GX makes (sign, bounds) are exact for these magnitudes."""
    out = df.copy(deep=False)
    for column in out.columns:
        series = out[column]
        if column.endswith("_yuan") and series.dtype == object:
            out[column] = pd.to_numeric(series, errors="coerce").astype("float64")
        elif column in _DATE_COLUMNS and (series.dtype == object or str(series.dtype).startswith("datetime64")):
            out[column] = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
    return out


# A string column with at most this many distinct values goes to GX as a pandas Categorical: the
# set, null and length checks then work on the categories, not on every row.
_CATEGORY_LIMIT = 4096


def frame(table_name: str, table: pa.Table) -> pd.DataFrame:
    """The columns the suite of ``table_name`` reads, as GX's pandas engine checks them fastest:
    decimals as float64, dates and times as datetime64[ns], repetitive text as categories, other
    text as Python strings (which GX's row filters copy by reference). Converted in Arrow; the
    values GX sees are the loaded values."""
    used = _columns(table_name)
    columns: dict[str, Any] = {}
    for f, column in zip(table.schema, table.columns):
        if f.name not in used:
            continue
        if pa.types.is_decimal(f.type):
            columns[f.name] = column.cast(pa.float64()).to_pandas()
        elif pa.types.is_date(f.type) or pa.types.is_timestamp(f.type):
            columns[f.name] = column.cast(pa.timestamp("ns")).to_pandas()
        elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            columns[f.name] = _text(column)
        else:
            columns[f.name] = column.to_pandas()
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _text(column: pa.ChunkedArray) -> pd.Series | pd.Categorical:
    if pc.count_distinct(column.slice(0, 20_000)).as_py() <= _CATEGORY_LIMIT // 2:
        encoded = pc.dictionary_encode(column).combine_chunks()
        if len(encoded.dictionary) <= _CATEGORY_LIMIT:
            return pd.Categorical.from_codes(
                pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False),
                categories=pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object),
            )
    return pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)


def validate_table(table_name: str, table: pa.Table) -> dict[str, Any]:
    """:func:`validate_rows` for an Arrow table (the loaded rows), prepared by :func:`frame`."""
    if table_name not in SUITES:
        raise ValueError(f"no expectation suite for {table_name!r}; expected one of {', '.join(SUITES)}")
    return validate_rows(table_name, frame(table_name, table))


def validate_rows(table_name: str, df: pd.DataFrame) -> dict[str, Any]:
    """Validate a partition's loaded rows of one raw table against its suite.

    Returns ``{"success": bool, "evaluated": int, "failed": [str], "unexpected_counts":
    {description: count}}``; an expectation that could not run counts as failed and says why.

    The suite first runs with GX's ``BOOLEAN_ONLY`` result format (each expectation computes
    only whether it holds); only when one fails is it run again with ``BASIC`` for the counts
    and examples a person reads.
    """
    if table_name not in SUITES:
        raise ValueError(f"no expectation suite for {table_name!r}; expected one of {', '.join(SUITES)}")
    if df.empty:
        return {"success": True, "evaluated": 0, "failed": [], "unexpected_counts": {}}
    with _lock:
        batch_definition, suite, descriptions = _entry(table_name)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _prepare(df)})
        result = batch.validate(suite, result_format="BOOLEAN_ONLY")
        if not result.success:
            result = batch.validate(suite, result_format="BASIC")
    failed: list[str] = []
    unexpected: dict[str, int] = {}
    for r in result.results:
        config = r.expectation_config
        description = descriptions.get(str(config.id)) or config.description or config.type
        count = int((r.result or {}).get("unexpected_count") or 0)
        if count:
            unexpected[description] = count
        if r.success:
            continue
        error = (r.exception_info or {}).get("exception_message") if r.exception_info else None
        if error:
            failed.append(f"{table_name}: {description}: could not be checked ({error})")
            continue
        examples = (r.result or {}).get("partial_unexpected_list") or []
        shown = ", ".join(repr(_plain(v)) for v in examples[:5])
        failed.append(
            f"{table_name}: {description}: {count} row(s) do not"
            + (f" (e.g. {shown})" if shown else "")
        )
    return {
        "success": bool(result.success),
        "evaluated": len(result.results),
        "failed": failed,
        "unexpected_counts": unexpected,
    }


def _columns(table_name: str) -> set[str]:
    """Every column the suite of ``table_name`` reads (also in row conditions)."""
    used: set[str] = set()
    for _, _, kwargs in SUITES[table_name]():
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                used.add(kwargs[key])
        used.update(kwargs.get("column_list", []))
        if "row_condition" in kwargs:
            used.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*[=!<>])", kwargs["row_condition"]))
    return used


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, pa.Scalar):
        return value.as_py()
    return value

