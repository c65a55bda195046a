{{ config(materialized='connected_components') }}
{#- Persons: the connected components of the identifier graph (node_id → component_id, the
    smallest node id of the component). Every identifier of a person is a node; an isolated one is
    its own component. An excluded member_id is kept as a person of its own (it links nothing) so
    that every registered member still maps to exactly one one_id. See macros/identity/
    connected_components.sql for the algorithm. -#}
select node_id as src, linked_node_id as dst
from {{ ref('int_identity__edges') }}

union all

select n.node_id as src, n.node_id as dst
from {{ ref('int_identity__nodes') }} n
left join {{ ref('int_identity__excluded_nodes') }} x
    on x.node_id = n.node_id
where x.node_id is null
   or n.identifier_type = 'member_id'
