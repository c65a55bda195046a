"""Demo and benchmark data generator behind ``memberflow generate``.

    from generator import generate
    summary = generate(Path("demo"), persons=2000, days=60, start=date(2024, 1, 1), seed=42)

Writes, deterministically for a seed (same bytes every run):

- ``landing/<source>/<delivery date>/<file>`` in the formats of SPEC §1: ``pos/<store>_<YYYYMMDD>.csv``
  (one per store and delivery day with lines), ``meituan/meituan_orders_<YYYYMMDD>.csv``,
  ``eleme/eleme_orders_<YYYYMMDD>.jsonl``, ``miniprogram/orders_<YYYYMMDD>.jsonl`` and
  ``miniprogram/members_<YYYYMMDD>.jsonl``. File names carry the delivery date of their first
  delivery; a re-delivered file keeps its name in a later folder. Mini-program files are cut by
  UTC date (their folder is the UTC date of ``created_at`` / ``event_time``), so orders between
  16:00Z and 24:00Z land in the folder of the day before their business date.
- ``stores.csv``: the store master (``clamp(persons // 20000, 3, 50)`` stores; every fourth store,
  starting with the third, has no Ele.me shop).
- ``truth/orders.parquet``: one row per final order key — ``source, store_code`` (pos only),
  ``order_id`` (pos: ``order_no``), ``person_id`` (int64; null when the order carries no
  identifier of its person: an anonymous sale, also one with only a placeholder phone),
  ``is_malformed``. POS refunds are rows only when their sale is not in the data.
- ``truth/members.parquet``: ``member_id, person_id, deleted``.
- ``truth/malformed.csv``: ``source, delivery_date, file_name, line_no, defect`` for every
  deliberately broken line (CSV header = line 1, first JSONL line = 1).

Conventions a reader of the truth may need: persons are 1-based; two family members share one
phone (the truth keeps them apart, the data cannot); a store's own number (``199…``) is typed for
many guests, placeholders come from the default blocklist; a deleted member places no order after
its ``delete`` event.

Every edge case of the brief appears at least once from 50 persons and 7 days up (smaller worlds
get what fits). Worlds under ~500 orders are boosted to 500 orders, at least 50 per channel, so
tiny worlds are edge-case dense; from ~2000 persons × 60 days the volume is the realistic ~10
valid orders per person and year, skewed (many one-off buyers, some heavy ones).
"""

from generator.core import generate

__all__ = ["generate"]
