{#- The growth and points tables kept by person on DuckDB: int_member_orders_counted,
    int_point_lots_earned, int_tier_timeline and marts.tier_history.

    A person's rows in each are a function of that person's inputs only:

    - int_member_orders_counted: the person's valid orders and member row (registration date);
    - int_point_lots_earned: the person's counted orders;
    - int_tier_timeline: the person's counted orders and member row, and D (the day an order
      leaves the growth window is an event once it is not after D);
    - tier_history: the person's timeline rows.

    So a build for D recomputes only the persons whose inputs may differ from the build as of
    the table's D0, and keeps every other person's rows:

    - the counted orders: the persons int_member_order_totals recomputed in this build (its
      delta: those whose valid orders changed, and more), and those whose member row came, went
      or changed its registration date (compared with the member rows this table was built from,
      kept beside it in int_member_orders_counted__members). It hands on those persons as its
      delta.
    - the lots earned: the persons in the counted orders' delta.
    - the timeline: the persons in the counted orders' delta, and those with a counted order
      that leaves the growth window after D0 and not after D. It hands on those persons too.
    - marts.tier_history (a function of the person's timeline rows): the persons in the
      timeline's delta.

    Each table is brought forward only when the delta it reads starts from the very build of the
    table it read last time (kept_delta_from, macros/engine/kept_tables.sql) and that table was
    built in the same dbt invocation (a daily build builds them all in one), and its comment
    holds the logic it was built with ("memberflow <kind> as of D logic <md5> run <invocation>
    <read kind> <invocation read>"); otherwise it is emptied and refilled, as under
    `--full-refresh`. Spark: plain tables, rebuilt whole every build. -#}


{#- The state of a table kept by person: a digest of its SQL, the rules in `rules`, `rendered`
    (the macros its SQL calls, as rendered: a change of their code rebuilds the table whole) and
    the version of the kept path (raise it when the macros of this file change). -#}
{% macro kept_person_state(rules, rendered='') -%}
  {{ return('logic ' ~ local_md5(model.raw_code ~ '|' ~ tojson(rules) ~ '|' ~ rendered ~ '|1')) }}
{%- endmacro %}


{#- The D this model's table (of `kind`) can be brought forward from: it holds `state` and the
    delta of `source` (a kept table of `source_kind`) is a change from the build of `source` this
    table last read; none otherwise. -#}
{% macro kept_person_as_of(kind, state, source, source_kind) -%}
  {%- set held = kept_held_before_run(kind) -%}
  {%- if held is none or held[1] != state -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if not kept_delta_from(source, source_kind, held[0], kept_held_part(kind, source_kind)) -%}
    {{ return(none) }}
  {%- endif -%}
  {#- and `source` was built in this dbt invocation: its delta then covers every input of this
      table that changed since (a table built after it in another invocation, with other member
      rows say, is rebuilt whole) -#}
  {%- set source_held = table_held(source, source_kind) -%}
  {%- if source_held is none or identity_state_part(source_held[1], 'run') != invocation_id -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(held[0]) }}
{%- endmacro %}


{#- The first pre-hook after kept_delta_drop: the persons to recompute: those in `source`'s
    delta, and those `more` selects (a query of one_id). -#}
{% macro kept_person_prepare(since, source, more=none) -%}
  {%- if keeps_tables() and is_incremental() and since is not none -%}
    create or replace table {{ kept_changed_relation() }} as
    select one_id from {{ kept_delta(source) }}
    {%- if more %}
    union
    {{ more }}
    {%- endif %}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Pre-hook: the persons recomputed, as this table's delta ("<kind>_delta as of D from D0 run
    <the build as of D0>"): every person whose rows may have changed, rows or none. -#}
{% macro kept_person_delta_create(since, kind) -%}
  {%- if keeps_tables() and is_incremental() and since is not none -%}
    create table {{ kept_delta(this) }} as
    select distinct one_id from {{ kept_changed_relation() }};
    comment on table {{ kept_delta(this) }} is 'memberflow {{ kind }}_delta as of {{ run_value("as_of_date") }} from {{ since }} run {{ kept_held_part(kind, "run") }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Post-hook (last): the table's comment: its D, state, this build, and the build of `source`
    it read. -#}
{% macro kept_person_mark(kind, state, source, source_kind) -%}
  {{ return(kept_mark(kind, (state ~ ' run ' ~ invocation_id ~ ' ' ~ kept_read_mark(source_kind, source, source_kind))
                            if keeps_tables() else '')) }}
{%- endmacro %}


{#- The config of a table kept by the persons in the delta of `source` (a kept table of
    `source_kind`): `as_of` and `state` name this table's macros, `more` one that selects more
    persons given the table's D0; with `hands_on`, the table hands the persons it recomputed on
    as its own delta; `post`, more post-hooks before the mark. -#}
{% macro kept_by_persons_config(kind, as_of, state, source, source_kind, more=none, hands_on=false, post=[]) -%}
  {%- set more_sql = (', ' ~ more ~ '(' ~ as_of ~ '())') if more else '' -%}
  {%- set pre = ["{{ kept_person_prepare(" ~ as_of ~ "(), ref('" ~ source ~ "')" ~ more_sql ~ ") }}"] -%}
  {%- if hands_on -%}
    {%- set pre = ["{{ kept_delta_drop() }}"] + pre + ["{{ kept_person_delta_create(" ~ as_of ~ "(), '" ~ kind ~ "') }}"] -%}
  {%- endif -%}
  {%- do config(
      materialized=staging_materialization(),
      incremental_strategy='append',
      on_schema_change='sync_all_columns',
      pre_hook=pre + ["{{ kept_reset(" ~ as_of ~ "(), 'one_id') }}"],
      post_hook=["{{ kept_drop_changed() }}"] + post
                + ["{{ kept_person_mark('" ~ kind ~ "', " ~ state ~ "(), ref('" ~ source ~ "'), '" ~ source_kind ~ "') }}"],
  ) -%}
{%- endmacro %}


{#- int_member_orders_counted: its logic (the points rule). -#}
{% macro kept_counted_state() -%}
  {{ return(kept_person_state([cfg('yuan_per_point')], int_floor_div('growth_value', cfg('yuan_per_point')))) }}
{%- endmacro %}

{#- int_member_orders_counted__members: the member rows the table was built from (one_id,
    registration_date as of its D). -#}
{% macro kept_counted_members() -%}
  {{ return(this.incorporate(path={"identifier": this.identifier ~ "__members"})) }}
{%- endmacro %}

{#- The D int_member_orders_counted can be brought forward from: also only when those member
    rows are the ones of the build the table holds. -#}
{% macro kept_counted_as_of() -%}
  {%- set since = kept_person_as_of('counted', kept_counted_state(), ref('int_member_order_totals'), 'member_totals') -%}
  {%- if since is not none
         and table_held(kept_counted_members(), 'counted_members') == [since, 'run ' ~ kept_held_part('counted', 'run')] -%}
    {{ return(since) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}

{#- The persons whose member row came, went or changed since the table's D0 (`since`: the member
    rows kept beside the table are those of that build). -#}
{% macro kept_counted_member_changes(since) -%}
    select coalesce(m.one_id, k.one_id) as one_id
    from {{ ref('int_members_as_of') }} m
    full outer join {{ kept_counted_members() }} k
        on k.one_id = m.one_id
    where m.one_id is null
       or k.one_id is null
       or m.registration_date is distinct from k.registration_date
{%- endmacro %}

{#- Post-hook: the member rows of this build, for the next one to compare with. -#}
{% macro kept_counted_members_write() -%}
  {%- if keeps_tables() -%}
    create or replace table {{ kept_counted_members() }} as
    select one_id, registration_date from {{ ref('int_members_as_of') }};
    comment on table {{ kept_counted_members() }} is 'memberflow counted_members as of {{ run_value("as_of_date") }} run {{ invocation_id }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- int_tier_timeline: its logic (window, bands, mode) and the D it can be brought forward from. -#}
{% macro kept_timeline_state() -%}
  {{ return(kept_person_state([cfg('growth_window_days'), tier_bands(), cfg('tier_mode')],
                              days_after('business_date', cfg('growth_window_days') | int) ~ tier_rank_of('growth_value')
                              ~ tier_name_of('tier_rank'))) }}
{%- endmacro %}

{% macro kept_timeline_as_of() -%}
  {{ return(kept_person_as_of('tier_timeline', kept_timeline_state(), ref('int_member_orders_counted'), 'counted')) }}
{%- endmacro %}


{#- tier_history: its logic and the D it can be brought forward from. -#}
{% macro kept_history_state() -%}
  {{ return(kept_person_state([], days_after('next_valid_from', -1))) }}
{%- endmacro %}

{% macro kept_history_as_of() -%}
  {{ return(kept_person_as_of('tier_history', kept_history_state(), ref('int_tier_timeline'), 'tier_timeline')) }}
{%- endmacro %}

{#- The persons with a counted order leaving the growth window after `since` and not after D. -#}
{% macro kept_timeline_leavers(since) -%}
  {%- set window_days = cfg('growth_window_days') | int -%}
    select one_id
    from {{ ref('int_member_orders_counted') }}
    where {{ days_after('business_date', window_days) }} > cast('{{ since }}' as date)
      and {{ days_after('business_date', window_days) }} <= {{ as_of_date() }}
{%- endmacro %}


{#- int_point_lots_earned: its logic (the validity) and the D it can be brought forward from. -#}
{% macro kept_lots_state() -%}
  {{ return(kept_person_state([cfg('points_validity_days')], days_after('earn_date', cfg('points_validity_days') | int))) }}
{%- endmacro %}

{% macro kept_lots_as_of() -%}
  {{ return(kept_person_as_of('lots_earned', kept_lots_state(), ref('int_member_orders_counted'), 'counted')) }}
{%- endmacro %}
