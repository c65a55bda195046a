{#- Every record (order or member event) maps to at most one one_id: all its identifiers that are
    identifiers of a person carry the same one_id (SPEC §4).

    A day's build checks only the records whose persons may differ from when the test last
    passed (macros/engine/tests_since_pass.sql): the records whose identifiers changed (the
    occurrences' delta) and those with an identifier whose one_id changed (a registry row after
    the delta's D0). Every record otherwise. -#}
{{ config(meta={'dagster': {'ref': {'name': 'int_identity__one_id_current'}},
                'since_last_pass': {'table': 'int_identity__occurrences', 'kind': 'identity', 'registry': true}}) }}
-- depends_on: {{ ref('one_id_registry') }}
{%- set found = since_last_pass_delta() if execute else none %}
with
{%- if found is not none %}
records_ as materialized (
    select record_id from {{ found[0] }}
    union
    select record_id
    from {{ ref('int_identity__occurrences') }}
    where node_id in ({{ registry_nodes_after(found[1], ref('one_id_registry')) }})
),

occurrences_ as materialized (
    select record_id, node_id
    from {{ ref('int_identity__occurrences') }}
    where record_id in (select record_id from records_)
)
{%- else %}
occurrences_ as (
    select record_id, node_id
    from {{ ref('int_identity__occurrences') }}
)
{%- endif %}

select o.record_id, count(distinct s.one_id) as persons
from occurrences_ o
inner join {{ ref('int_identity__one_id_current') }} s
    on s.node_id = o.node_id
group by o.record_id
having count(distinct s.one_id) > 1
