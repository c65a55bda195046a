"""Daily partitions by date: the delivery date for ingestion, the as-of date D for everything after."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import load_settings

_settings = load_settings()

# end_offset=1: today's delivery folder is a partition as soon as the day starts in Shanghai.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.partitions_start.isoformat(),
    timezone=_settings.timezone,
    end_offset=1,
)
