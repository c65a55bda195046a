-- RFM scores are 1 … rfm_buckets with a segment exactly for the population (frequency_365 >= 1),
-- and null for everyone else.
{%- set buckets = cfg('rfm_buckets') | int %}

select
    one_id,
    frequency_365,
    r_score,
    f_score,
    m_score,
    rfm_segment
from {{ ref('member_facts') }}
where (
        frequency_365 >= 1
        and (
            r_score is null or f_score is null or m_score is null or rfm_segment is null
            or r_score not between 1 and {{ buckets }}
            or f_score not between 1 and {{ buckets }}
            or m_score not between 1 and {{ buckets }}
        )
    )
   or (
        frequency_365 < 1
        and (r_score is not null or f_score is not null or m_score is not null or rfm_segment is not null)
    )
