{#- Every change of a person's one_id (SPEC §4, §10): `merge` (old_one_id was merged into
    new_one_id, the one first seen earlier) or `split` (part of old_one_id became new_one_id),
    on the as-of date of the build that saw it, with how many identifiers moved. -#}
select
    previous_one_id as old_one_id,
    one_id as new_one_id,
    change,
    valid_from as as_of_date,
    count(*) as identifiers_moved
from {{ ref('one_id_registry') }}
where change in ('merge', 'split')
  and valid_from <= {{ as_of_date() }}
group by previous_one_id, one_id, change, valid_from
