{#- Identifier values that are not identifiers of a person, with why (SPEC §4), for a person to
    review: reason is blocklist | too_many_linked_values | too_many_orders_per_day and
    reason_detail says by how much (phone_masked shows a phone as 138****0000). Masked, privacy
    and invalid phones never reach the graph (ingestion stores no hash for them; the raw
    phone_status says why). An excluded member_id still is a person of its own (it links
    nothing), so that its member keeps a one_id. -#}
with excluded as (
    select n.node_id, n.identifier_type, n.first_seen_date, n.last_seen_date, n.record_count,
           x.reason, x.reason_detail
    from {{ ref('int_identity__excluded_nodes') }} x
    inner join {{ ref('int_identity__nodes') }} n
        on n.node_id = x.node_id
),

values_seen as (
    select v.node_id, min(v.identifier_hash) as identifier_hash, max(v.phone_masked) as phone_masked
    from {{ ref('int_identity__identifier_values') }} v
    inner join excluded e
        on e.node_id = v.node_id
    group by v.node_id
)

select
    e.identifier_type,
    v.identifier_hash,
    e.reason,
    e.reason_detail,
    v.phone_masked,
    e.first_seen_date,
    e.last_seen_date,
    e.record_count
from excluded e
inner join values_seen v
    on v.node_id = e.node_id
