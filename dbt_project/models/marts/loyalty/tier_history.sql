{{ kept_by_persons_config('tier_history', 'kept_history_as_of', 'kept_history_state', 'int_tier_timeline', 'tier_timeline') }}
{#- Tier history (SPEC §6): one row per stretch of days a member held a tier, from its registration
    date to D. valid_from and valid_to are both inclusive; valid_to is null for the current tier.
    The tier of a member on any past date d <= D is the row with valid_from <= d and
    (valid_to is null or d <= valid_to). Built from the growth timeline (int_tier_timeline):
    consecutive event dates with the same tier collapse into one row.
    Kept by person on DuckDB: a build recomputes only the persons in the timeline's delta
    (macros/facts/kept_by_person.sql). -#}
{%- set since = kept_history_as_of() %}

with

timeline as (

    select
        one_id,
        event_date,
        growth_value,
        tier_rank,
        tier
    from {{ ref('int_tier_timeline') }}
    {%- if since is not none %}
    where one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

flagged as (

    select
        one_id,
        event_date,
        growth_value,
        tier_rank,
        tier,
        case
            when lag(tier_rank) over (partition by one_id order by event_date) = tier_rank then 0
            else 1
        end as starts_stretch
    from timeline

),

numbered as (

    select
        one_id,
        event_date,
        growth_value,
        tier_rank,
        tier,
        starts_stretch,
        sum(starts_stretch) over (
            partition by one_id order by event_date
            rows between unbounded preceding and current row
        ) as stretch_no
    from flagged

),

stretches as (

    select
        one_id,
        stretch_no,
        tier_rank,
        tier,
        event_date as valid_from,
        growth_value as growth_value_at_start
    from numbered
    where starts_stretch = 1

),

bounded as (

    select
        one_id,
        tier_rank,
        tier,
        valid_from,
        growth_value_at_start,
        lead(valid_from) over (partition by one_id order by valid_from) as next_valid_from
    from stretches

)

select
    one_id,
    tier,
    valid_from,
    {{ days_after('next_valid_from', -1) }} as valid_to,
    tier_rank,
    growth_value_at_start,
    next_valid_from is null as is_current
from bounded
