{#- Two different identifier hashes must never share a node id (macro identifier_node_id): it
    would merge two identifiers into one. Fails with the colliding node ids. -#}
select node_id, count(distinct identifier_hash) as hashes
from {{ ref('int_identity__identifier_values') }}
group by node_id
having count(distinct identifier_hash) > 1
