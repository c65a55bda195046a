{#- node_id → identifier hash (and, for a phone, its masked display form): every distinct value
    the raw layer holds, read straight from it (any row that carries a hash will do, so no
    delivery or version logic is needed). The graph works on node ids only; the few models that
    must show a hash (the registry for new identifiers, excluded_identifiers) and the node-id
    collision test read this small table instead of every raw row.

    Kept incrementally on DuckDB (macros/staging/staged_versions.sql, as the staging tables): a
    build adds the values of the rows delivered after the D the table holds; a build for an
    earlier day, a late file in an old delivery folder or a new hashing key rebuilds it whole.
    A value whose rows a re-delivery later drops stays (it was an identifier's hash all the
    same), so the table is the distinct values the raw layer has held since its last full build.
    Spark: a table, rebuilt every build. -#}
{%- set sources = [
    ('pos_lines', [('phone', 'phone_hash'), ('openid', 'openid_hash'), ('member_card_no', 'member_card_hash')]),
    ('meituan_orders', [('phone', 'phone_hash'), ('meituan_user_id', 'meituan_user_hash')]),
    ('eleme_orders', [('phone', 'phone_hash'), ('eleme_user_id', 'eleme_user_hash')]),
    ('miniprogram_orders', [('phone', 'phone_hash'), ('unionid', 'unionid_hash'), ('openid', 'openid_hash'), ('member_id', 'member_id_hash')]),
    ('miniprogram_members', [('phone', 'phone_hash'), ('unionid', 'unionid_hash'), ('openid', 'openid_hash'), ('member_id', 'member_id_hash'), ('member_card_no', 'member_card_hash')]),
] -%}
{%- set tables = sources | map(attribute=0) | list -%}
{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ staged_versions_reset(" ~ tables ~ ") }}",
    post_hook="{{ staged_versions_mark(" ~ tables ~ ") }}",
) }}
-- depends_on: {{ ref('base_raw__deliveries') }}
{%- set since = staged_as_of(tables) %}
with raw_values as (
{%- for table_name, identifiers in sources %}
{%- set outer_loop = loop %}
{%- set relation = raw_delivered_after(table_name, since) if since is not none else source('raw', table_name) %}
{%- for identifier_type, col in identifiers %}
    select
        {{ identifier_node_id(col) }} as node_id,
        '{{ identifier_type }}' as identifier_type,
        {{ col }} as identifier_hash,
        {% if identifier_type == 'phone' %}phone_masked{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as phone_masked
    from {{ relation }}
    where {{ col }} is not null
    {%- if since is not none %}
      and delivery_date > cast('{{ since }}' as date)
    {%- endif %}
    {{ "union all" if not (loop.last and outer_loop.last) }}
{%- endfor %}
{%- endfor %}
),

new_values as (
    select distinct node_id, identifier_type, identifier_hash, phone_masked
    from raw_values
)

select n.node_id, n.identifier_type, n.identifier_hash, n.phone_masked
from new_values n
{%- if since is not none %}
where not exists (
    select 1
    from {{ this }} t
    where t.node_id = n.node_id
      and t.identifier_type = n.identifier_type
      and t.identifier_hash = n.identifier_hash
      and t.phone_masked is not distinct from n.phone_masked
)
{%- endif %}
