{#- Every distinct identifier seen as of D, as a node of the OneID graph (node_id: macro
    identifier_node_id, valid within one build), with when and in how many records it was seen. -#}
select
    node_id,
    {{ identifier_type_name('min(type_code)') }} as identifier_type,
    min(type_code) as type_code,
    min(business_date) as first_seen_date,
    max(business_date) as last_seen_date,
    count(*) as record_count
from {{ ref('int_identity__occurrences') }}
group by node_id
