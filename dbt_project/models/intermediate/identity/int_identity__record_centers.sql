{#- Each record's centre: the smallest node id among its identifiers that are identifiers of a
    person (not excluded). A record's star edges join every such identifier to its centre; a
    record with none (an anonymous cash sale, a placeholder phone only) has no centre. -#}
select
    o.record_id,
    min(o.node_id) as center_node_id
from {{ ref('int_identity__occurrences') }} o
left join {{ ref('int_identity__excluded_nodes') }} x
    on x.node_id = o.node_id
where x.node_id is null
group by o.record_id
