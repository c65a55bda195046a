{{ config(meta={"dagster": {"ref": {"name": "member_tiers"}}}) }}
-- Tiers are the bands configured in memberflow.yaml (tiers.bands).
{%- set names = tier_names() %}

select one_id, tier, 'member_tiers' as model
from {{ ref('member_tiers') }}
where tier not in ('{{ names | join("', '") }}')
   or tier_in_30_days not in ('{{ names | join("', '") }}')

union all

select one_id, tier, 'tier_history' as model
from {{ ref('tier_history') }}
where tier not in ('{{ names | join("', '") }}')
