{{ config(materialized=view_materialization()) }}
{#- The identifiers of persons as of D with their hash, type and one_id (deleted persons
    included): the current map joined back to the registry rows that hold the hashes. -#}
select
    c.node_id,
    r.identifier_type,
    r.identifier_hash,
    c.one_id,
    c.assigned_on
from {{ ref('int_identity__one_id_current') }} c
inner join {{ ref('one_id_registry') }} r
    on r.valid_from = c.assigned_on
   and {{ identifier_node_id('r.identifier_hash') }} = c.node_id
