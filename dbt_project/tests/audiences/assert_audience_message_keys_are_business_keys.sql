{{ config(meta={"dagster": {"ref": {"name": "audience_members"}}}) }}
-- message_key is '<audience>:<D>:<one_id>' (the sender deduplicates on it); tiers are the bands
-- configured in memberflow.yaml.
{%- set names = tier_names() %}
select message_key, audience, as_of_date, one_id, tier
from {{ ref('audience_members') }}
where message_key <> {{ dbt.concat(["audience", "':'", date_text('as_of_date'), "':'", "one_id"]) }}
   or tier not in ('{{ names | join("', '") }}')
