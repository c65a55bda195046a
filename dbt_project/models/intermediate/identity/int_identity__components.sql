{{ config(
    materialized='connected_components',
    kept_where='identity_components_kept_where',
    pre_hook=["{{ kept_delta_drop() }}",
              "{{ identity_components_prepare(identity_kept_as_of()) }}"],
    post_hook=["{{ identity_work_drop(['scope']) }}", "{{ identity_mark() }}"],
) }}
-- depends_on: {{ ref('int_identity__occurrences') }}
{#- Persons: the connected components of the identifier graph (node_id → component_id, the
    smallest node id of the component). Every identifier of a person is a node; an isolated one is
    its own component. An excluded member_id is kept as a person of its own (it links nothing) so
    that every registered member still maps to exactly one one_id. See macros/identity/
    connected_components.sql for the algorithm.

    Kept on DuckDB (macros/identity/kept_identity.sql): a build recomputes the components of the
    nodes a day touched, over their edges only; its delta lists those nodes. -#}
{%- set scoped = identity_kept_as_of() is not none %}
select node_id as src, linked_node_id as dst
from {{ ref('int_identity__edges') }}
{%- if scoped %}
where node_id in (select node_id from {{ identity_work('scope') }})
{%- endif %}

union all

select n.node_id as src, n.node_id as dst
from {{ ref('int_identity__nodes') }} n
left join {{ ref('int_identity__excluded_nodes') }} x
    on x.node_id = n.node_id
where (x.node_id is null
   or n.identifier_type = 'member_id')
{%- if scoped %}
  and n.node_id in (select node_id from {{ identity_work('scope') }})
{%- endif %}
