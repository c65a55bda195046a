{#- One row per landing-file delivery as of D with its reconciliation (SPEC §1, §1.5, §10):
    rows_read = rows_loaded + rows_quarantined must hold (is_reconciled). A delivery whose sha256
    equals the previous delivery of the same source and file name is an identical re-delivery:
    it changes nothing (staging skips it). -#}
with loads as (
    select
        source,
        delivery_date,
        file_name,
        max(sha256) as sha256,
        max(encoding) as encoding,
        max(rows_read) as rows_read,
        max(rows_loaded) as rows_loaded,
        max(rows_quarantined) as rows_quarantined,
        max(loaded_at) as loaded_at
    from {{ raw_file_loads() }}
    where delivery_date <= {{ as_of_date() }}
    group by source, delivery_date, file_name
)

select
    source,
    delivery_date,
    file_name as file,
    sha256,
    encoding,
    rows_read,
    rows_loaded,
    rows_quarantined,
    case when rows_read = rows_loaded + rows_quarantined then true else false end as is_reconciled,
    case
        when sha256 is not null
         and sha256 = lag(sha256) over (partition by source, file_name order by delivery_date)
        then true else false
    end as is_identical_redelivery,
    loaded_at
from loads
