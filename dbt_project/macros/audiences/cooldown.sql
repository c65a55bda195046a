{#- Emissions of an audience with a cooldown (SPEC §7, §11), for every day of a build's range in
    one set-based pass.

    Rule: a member is emitted on day D when it is eligible on D and was not emitted on any of
    D-cooldown … D-1. The emitted days are therefore a greedy scan of the member's eligible days:
    inside one run of consecutive eligible days [s, e], with the last earlier emission L, the
    emissions are f, f + p, f + 2p, … ≤ e where p = cooldown + 1 and f = max(s, L + p); the last of
    them is the L of the next run. Only that hand-over from run to run is sequential, and each
    step of it emits at least once, so a range of N days needs at most floor((N - 1) / p) + 1
    steps: they are unrolled here (no recursion, which Spark lacks), each step a join of the
    members still scanning with their remaining runs, and members leave the scan as soon as no
    run is left.

    Arguments: runs — a relation/CTE with (audience, person_key, run_start, run_end), day indexes of
    maximal runs of eligible days inside the range (disjoint per member); history — a
    relation/CTE with (audience, person_key, last_emitted), the day index (< 0) of the member's last
    emission before the range; audience — which audience of both to scan; cooldown_days — the
    cooldown; range_days — N. Returns a query of (audience, person_key, day_index). -#}
{% macro cooldown_emissions(runs, history, audience, cooldown_days, range_days) -%}
  {%- set period = (cooldown_days | int) + 1 -%}
  {%- set steps = ((range_days | int) - 1) // period + 1 -%}
  {%- set no_emission = -2 * period - (range_days | int) -%}
  with

  audience_runs as (
      select person_key, run_start, run_end
      from {{ runs }}
      where audience = '{{ audience }}'
  ),

  {%- if period == 1 %}

  -- no cooldown: every eligible day is an emission; one segment per run
  segments as (
      select person_key, run_start as first_emission, run_end as last_emission
      from audience_runs
  ),

  {%- else %}

  scan_0 as (
      select
          r.person_key,
          coalesce(max(h.last_emitted), {{ no_emission }}) as last_emitted
      from (select distinct person_key from audience_runs) as r
      left join {{ history }} as h
          on h.audience = '{{ audience }}'
         and h.person_key = r.person_key
      group by r.person_key
  ),

  {%- for step in range(1, steps + 1) %}

  -- step {{ step }}: the next run that still holds a day at least {{ period }} days after the
  -- last emission (runs are disjoint and ordered, so min start and min end are the same run)
  next_run_{{ step }} as (
      select
          s.person_key,
          s.last_emitted,
          min(r.run_start) as run_start,
          min(r.run_end) as run_end
      from scan_{{ step - 1 }} as s
      inner join audience_runs as r
          on r.person_key = s.person_key
         and r.run_end >= s.last_emitted + {{ period }}
      group by s.person_key, s.last_emitted
  ),

  segment_{{ step }} as (
      select
          person_key,
          first_emission,
          first_emission + {{ period }} * {{ int_floor_div('run_end - first_emission', period) }} as last_emission
      from (
          select
              person_key,
              run_end,
              greatest(run_start, last_emitted + {{ period }}) as first_emission
          from next_run_{{ step }}
      ) as bounded
  ),

  scan_{{ step }} as (
      select person_key, last_emission as last_emitted
      from segment_{{ step }}
  ),

  {%- endfor %}

  segments as (
      {%- for step in range(1, steps + 1) %}
      select person_key, first_emission, last_emission from segment_{{ step }}
      {{ "union all" if not loop.last }}
      {%- endfor %}
  ),

  {%- endif %}

  offsets as (
      {{ audience_day_indexes(((range_days | int) - 1) // period + 1) | indent(6) }}
  )

  select
      '{{ audience }}' as audience,
      g.person_key,
      cast(g.first_emission + {{ period }} * o.day_index as integer) as day_index
  from segments as g
  inner join offsets as o
      on g.first_emission + {{ period }} * o.day_index <= g.last_emission
{%- endmacro %}
