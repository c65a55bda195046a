{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ identity_current_reset(identity_current_as_of()) }}"],
    post_hook=["{{ identity_current_mark() }}"],
) }}
{#- The one_id of every identifier of a person as of D (deleted persons included), on this
    build's node ids, with the identifier's type and hash: per identifier, its latest registry
    row (one_id null there = no longer an identifier of a person). Holding the hash here spares
    the readers of the map (identity.one_id_map, its tests, the forgotten identifiers) a join of
    every registry row on a node id computed from its hash.

    Kept on DuckDB when the registry was built in this build on the very registry this table was
    last built from (macro identity_current_as_of): only the identifiers with a registry row
    after this table's D0 (this build's changes) are looked up again. -#}
{%- set since = identity_current_as_of() %}
with latest as (
    select
        {{ identifier_node_id('identifier_hash') }} as node_id,
        {{ value_at_latest('one_id', 'valid_from') }} as one_id,
        max(valid_from) as assigned_on,
        min(identifier_type) as identifier_type,
        min(identifier_hash) as identifier_hash
    from {{ ref('one_id_registry') }}
    where valid_from <= {{ as_of_date() }}
    {%- if since is not none %}
      and {{ identifier_node_id('identifier_hash') }} in ({{ registry_nodes_after(since, ref('one_id_registry')) }})
    {%- endif %}
    group by {{ identifier_node_id('identifier_hash') }}
)

select node_id, one_id, assigned_on, identifier_type, identifier_hash
from latest
where one_id is not null
