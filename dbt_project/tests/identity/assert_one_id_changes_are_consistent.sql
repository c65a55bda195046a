{#- A merged one_id is retired for good (one_ids are never issued again), and no change
    maps a one_id to itself. -#}
{{ config(meta={'dagster': {'ref': {'name': 'one_id_changes'}}}) }}
with current_ids as (
    select distinct one_id from {{ ref('int_identity__one_id_current') }}
)

select c.*
from {{ ref('one_id_changes') }} c
left join current_ids k
    on k.one_id = c.old_one_id
where c.old_one_id = c.new_one_id
   or (c.change = 'merge' and k.one_id is not null)
