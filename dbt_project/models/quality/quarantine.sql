{#- Rows that broke the input contract, as of D (SPEC §1.5, §10): never silently dropped.
    is_identical_redelivery: the row comes from a delivery that repeats the previous delivery
    of the same file byte for byte (it changes nothing and was skipped by staging). -#}
with quarantine as (
    select * from {{ source('raw', 'quarantine') }}
    where delivery_date <= {{ as_of_date() }}
),

loads as (
    select source, file, delivery_date, is_identical_redelivery
    from {{ ref('file_loads') }}
)

select
    q.source,
    q.delivery_date,
    q.file_name as file,
    q.line_no as line,
    q.raw,
    q.reason,
    coalesce(l.is_identical_redelivery, false) as is_identical_redelivery
from quarantine q
left join loads l
    on l.source = q.source
   and l.file = q.file_name
   and l.delivery_date = q.delivery_date
