"""Jobs: ingestion alone (what the landing sensor requests) and the whole daily pipeline."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import daily_partitions

ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.groups("ingest"),
    partitions_def=daily_partitions,
    description="Ingest the landing files of the selected delivery days into the raw layer.",
)

daily_pipeline_job = dg.define_asset_job(
    name="daily_pipeline_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("outbox"),
    partitions_def=daily_partitions,
    description=(
        "Everything for the selected days in one run: ingestion of each delivery day, then one "
        "dbt build (OneID, facts, tiers, points, audiences) as of the last day, then the PIPL "
        "forget step and the BI copy."
    ),
)

outbox_job = dg.define_asset_job(
    name="outbox_job",
    selection=dg.AssetSelection.groups("outbox"),
    partitions_def=daily_partitions,
    description="Write the audience files of the selected days to the outbox (each set once).",
)
