{{ config(materialized=view_materialization()) }}
{#- The identifiers of persons as of D with their hash, type and one_id (deleted persons
    included): the current map, which holds each identifier's hash and type. -#}
select
    node_id,
    identifier_type,
    identifier_hash,
    one_id,
    assigned_on
from {{ ref('int_identity__one_id_current') }}
