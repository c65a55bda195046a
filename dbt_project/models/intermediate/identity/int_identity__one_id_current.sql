{#- The one_id of every identifier of a person as of D (deleted persons included), on this
    build's node ids: per identifier, its latest registry row (one_id null there = no longer an
    identifier of a person). -#}
with latest as (
    select
        {{ identifier_node_id('identifier_hash') }} as node_id,
        {{ value_at_latest('one_id', 'valid_from') }} as one_id,
        max(valid_from) as assigned_on
    from {{ ref('one_id_registry') }}
    where valid_from <= {{ as_of_date() }}
    group by {{ identifier_node_id('identifier_hash') }}
)

select node_id, one_id, assigned_on
from latest
where one_id is not null
