"""Daily partitions by date: the delivery date for ingestion, the as-of date D for everything after."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from orchestration.settings import load_settings

_settings = load_settings()

# end_offset=1: today's delivery folder is a partition as soon as the day starts in Shanghai.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.partitions_start.isoformat(),
    timezone=_settings.timezone,
    end_offset=1,
)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """Every day of the run's partition range, in order (one day for a single-partition run)."""
    key_range = context.partition_key_range
    first, last = date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
