{#- Every record (order or member event) maps to at most one one_id: all its identifiers that are
    identifiers of a person carry the same one_id (SPEC §4). -#}
{{ config(meta={'dagster': {'ref': {'name': 'int_identity__one_id_current'}}}) }}
select o.record_id, count(distinct s.one_id) as persons
from {{ ref('int_identity__occurrences') }} o
inner join {{ ref('int_identity__one_id_current') }} s
    on s.node_id = o.node_id
group by o.record_id
having count(distinct s.one_id) > 1
