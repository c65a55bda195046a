{#- Star edges of the OneID graph: every identifier of a record joined to the record's centre
    (linear in the data, unlike all pairs). One row per distinct edge, with its support. -#}
select
    o.node_id,
    c.center_node_id as linked_node_id,
    count(*) as record_count,
    min(o.business_date) as first_seen_date,
    max(o.business_date) as last_seen_date
from {{ ref('int_identity__occurrences') }} o
inner join {{ ref('int_identity__record_centers') }} c
    on c.record_id = o.record_id
left join {{ ref('int_identity__excluded_nodes') }} x
    on x.node_id = o.node_id
where x.node_id is null
  and o.node_id <> c.center_node_id
group by o.node_id, c.center_node_id
