{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ one_id_registry_truncate() }}",
    post_hook="{{ identity_registry_mark() }}",
) }}
-- depends_on: {{ ref('int_identity__occurrences') }}
{#- The stable one_id state (SPEC §4, issue 3): one row per change of an identifier's one_id,
    valid from the as-of date D of the build that made it. The current map is, per identifier,
    its latest row (one_id null = no longer an identifier of a person: excluded, or gone).
    Internal state: BI reads identity.one_id_map.

    Given the state before D and D's persons (connected components):
    - every old one_id is claimed by the person holding most of its identifiers (ties: the part
      first seen earliest, then the smallest node id);
    - a person keeps the oldest one_id it claims (smallest number: ids are numbered in the order
      persons are first seen); the other one_ids it claims are merged into it (change 'merge');
    - a person that claims no one_id gets a new one, 'P' + 12 digits, numbered after the largest
      id so far in order of the person's first business date, then smallest node id;
    - identifiers that move to a person not claiming their old one_id record change 'split'.
    A full refresh (dbt --full-refresh) forgets the state and renumbers every person. Node ids
    (macro identifier_node_id) only break ties between persons first seen on the same day.
    Everything runs on node ids; hashes are looked up only for the rows written.

    On DuckDB, when the registry holds the day D0 that the OneID graph was brought forward from
    (macros/identity/kept_identity.sql), only the identifiers the day touched and every
    identifier of their persons (the components' delta) are compared: a one_id is held by one
    person, and every other person keeps its one_id and its identifiers. -#}
{%- set scope = identity_registry_scope() %}
with persons as (
    select
        c.node_id,
        n.identifier_type,
        n.first_seen_date,
        c.component_id
    from {{ ref('int_identity__components') }} c
    inner join {{ ref('int_identity__nodes') }} n
        on n.node_id = c.node_id
    {%- if scope is not none %}
    where c.node_id in (select node_id from {{ scope }})
    {%- endif %}
),

history as (
    {%- if is_incremental() %}
    select
        {{ identifier_node_id('identifier_hash') }} as node_id,
        identifier_type,
        identifier_hash,
        one_id,
        valid_from
    from {{ this }}
    where valid_from < {{ as_of_date() }}
    {%- if scope is not none %}
      and {{ identifier_node_id('identifier_hash') }} in (select node_id from {{ scope }})
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_bigint() }}) as node_id,
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier_hash,
        cast(null as {{ dbt.type_string() }}) as one_id,
        cast(null as date) as valid_from
    from persons
    where 1 = 0
    {%- endif %}
),

previous as (
    select node_id, previous_one_id
    from (
        select node_id, {{ value_at_latest('one_id', 'valid_from') }} as previous_one_id
        from history
        group by node_id
    ) latest
    where previous_one_id is not null
),

last_number as (
    select coalesce(max({{ one_id_number('one_id') }}), 0) as last_number
    {%- if scope is not none %}
    from {{ this }}
    where valid_from < {{ as_of_date() }}
      and one_id is not null
    {%- else %}
    from history
    where one_id is not null
    {%- endif %}
),

linked as (
    select
        p.node_id,
        p.identifier_type,
        p.first_seen_date,
        p.component_id,
        prev.previous_one_id
    from persons p
    left join previous prev
        on prev.node_id = p.node_id
),

parts as (
    select
        previous_one_id,
        component_id,
        count(*) as part_identifiers,
        min(first_seen_date) as part_first_seen_date,
        min(node_id) as part_min_node_id
    from linked
    where previous_one_id is not null
    group by previous_one_id, component_id
),

claims_ranked as (
    select
        previous_one_id,
        component_id,
        row_number() over (
            partition by previous_one_id
            order by part_identifiers desc, part_first_seen_date, part_min_node_id
        ) as claim_rank
    from parts
),

claims as (
    select previous_one_id, component_id
    from claims_ranked
    where claim_rank = 1
),

kept as (
    select component_id, min(previous_one_id) as one_id
    from claims
    group by component_id
),

unclaimed_components as (
    select
        l.component_id,
        min(l.first_seen_date) as first_seen_date,
        min(l.node_id) as min_node_id
    from linked l
    left join kept k
        on k.component_id = l.component_id
    where k.component_id is null
    group by l.component_id
),

new_ids as (
    select
        c.component_id,
        {{ one_id_from_number('n.last_number + row_number() over (order by c.first_seen_date, c.min_node_id)') }} as one_id
    from unclaimed_components c
    cross join last_number n
),

assigned as (
    select component_id, one_id from kept
    union all
    select component_id, one_id from new_ids
),

next_state as (
    select
        l.node_id,
        l.identifier_type,
        a.one_id,
        l.previous_one_id,
        case
            when l.previous_one_id is null then 'new'
            when l.previous_one_id = a.one_id then 'unchanged'
            when cl.component_id = l.component_id then 'merge'
            else 'split'
        end as change
    from linked l
    inner join assigned a
        on a.component_id = l.component_id
    left join claims cl
        on cl.previous_one_id = l.previous_one_id
),

removed as (
    select
        prev.node_id,
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as one_id,
        prev.previous_one_id,
        'removed' as change
    from previous prev
    left join persons p
        on p.node_id = prev.node_id
    where p.node_id is null
),

changes as (
    select node_id, identifier_type, one_id, previous_one_id, change
    from next_state
    where change <> 'unchanged'
    union all
    select node_id, identifier_type, one_id, previous_one_id, change
    from removed
),

known_hashes as (
    {#- the hash of an identifier already in the state -#}
    select h.node_id, {{ dbt.any_value('h.identifier_type') }} as identifier_type,
           {{ dbt.any_value('h.identifier_hash') }} as identifier_hash
    from history h
    inner join changes c
        on c.node_id = h.node_id
    where c.change <> 'new'
    group by h.node_id
),

new_hashes as (
    {#- the hash of an identifier seen for the first time, from the raw layer -#}
    select v.node_id, {{ dbt.any_value('v.identifier_hash') }} as identifier_hash
    from {{ ref('int_identity__identifier_values') }} v
    inner join changes c
        on c.node_id = v.node_id
    where c.change = 'new'
    group by v.node_id
)

select
    coalesce(c.identifier_type, k.identifier_type) as identifier_type,
    coalesce(k.identifier_hash, n.identifier_hash) as identifier_hash,
    c.one_id,
    c.previous_one_id,
    c.change,
    {{ as_of_date() }} as valid_from
from changes c
left join known_hashes k
    on k.node_id = c.node_id
left join new_hashes n
    on n.node_id = c.node_id
