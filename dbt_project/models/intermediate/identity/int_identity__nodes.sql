{%- set since = identity_kept_as_of() %}
{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=["{{ kept_reset_where(identity_kept_as_of(), 'node_id in (select node_id from '
              ~ identity_relation('int_identity__occurrences', '__delta') ~ ')') }}"],
    post_hook=["{{ identity_mark() }}"],
) }}
{#- Every distinct identifier seen as of D, as a node of the OneID graph (node_id: macro
    identifier_node_id), with when and in how many records it was seen. Kept on DuckDB
    (macros/identity/kept_identity.sql): a build recomputes the identifiers in the occurrences'
    delta. -#}
select
    node_id,
    {{ identifier_type_name('min(type_code)') }} as identifier_type,
    min(type_code) as type_code,
    min(business_date) as first_seen_date,
    max(business_date) as last_seen_date,
    count(*) as record_count
from {{ ref('int_identity__occurrences') }}
{%- if since is not none %}
where node_id in (select node_id from {{ identity_relation('int_identity__occurrences', '__delta') }})
{%- endif %}
group by node_id
