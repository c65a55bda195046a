"""Outbox assets: the files marketing picks up, one asset per audience, partitioned by as-of date D.

They are not part of the daily pipeline job: the audience sensor launches them once per
(audience, D) after ``audience_members`` for D is materialized (run key ``<audience>:<D>``), and
``memberflow run`` launches them for its whole range. Emission itself never writes a set twice.
"""

import dagster as dg
from dagster import AssetExecutionContext

from assets.audiences.emit import AUDIENCES, emit_audience_days
from orchestration.partitions import daily_partitions, partition_days
from orchestration.resources import WAREHOUSE_WRITER_POOL, MemberflowConfig

AUDIENCE_MEMBERS_KEY = dg.AssetKey(["audiences", "audience_members"])


def outbox_key(audience: str) -> dg.AssetKey:
    return dg.AssetKey(["outbox", audience])


def build_outbox_asset(audience: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=outbox_key(audience),
        group_name="outbox",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_WRITER_POOL,  # reads the warehouse file: never beside a writer
        deps=[AUDIENCE_MEMBERS_KEY],
        kinds={"csv"},
        description=(
            f"`<outbox>/{audience}/<D>/audience.csv` and `manifest.json` for the {audience} "
            "audience of day D, written once and atomically; phones only on sms rows."
        ),
    )
    def _outbox(context: AssetExecutionContext, memberflow: MemberflowConfig) -> dg.MaterializeResult:
        settings = memberflow.settings()
        emitted, existing, rows = [], [], 0
        days = list(partition_days(context))
        # one warehouse connection for the run's days; the run's contacts of every audience and
        # day are read from the pii store at once
        for result in emit_audience_days(
            settings, settings.pii_dir, settings.outbox_dir, audience, days, (days[0], days[-1])
        ):
            rows += result.rows
            (emitted if result.emitted else existing).append(f"{result.as_of_date}: {result.rows} rows")
        return dg.MaterializeResult(
            metadata={
                "rows": rows,
                "emitted": dg.MetadataValue.json(emitted),
                "already_emitted": dg.MetadataValue.json(existing),
                "outbox": dg.MetadataValue.path(str(settings.outbox_dir / audience)),
            }
        )

    return _outbox


outbox_assets = [build_outbox_asset(a) for a in AUDIENCES]
