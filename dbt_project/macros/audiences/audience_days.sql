{#- The days a build computes audiences for: every day D in [audience_from, as_of_date].

    `audience_from` comes beside `as_of_date` (macro run_value); without
    it the range is the single day as_of_date. Inside the audience models a day is handled as its
    integer index in that range (day index 0 = audience_from), so that windows, cooldowns and
    reminder offsets are integer arithmetic; audience_day_index() / audience_day_date() convert. -#}

{#- {'first': 'YYYY-MM-DD', 'last': 'YYYY-MM-DD', 'days': number of days in the range}. -#}
{% macro audience_range() -%}
  {%- set last_text = run_value('as_of_date') or '1970-01-01' -%}
  {%- set first_text = run_value('audience_from') or last_text -%}
  {%- set first = modules.datetime.date.fromisoformat(first_text | string) -%}
  {%- set last = modules.datetime.date.fromisoformat(last_text | string) -%}
  {%- if first > last -%}
    {{ exceptions.raise_compiler_error("audience_from " ~ first_text ~ " is after as_of_date " ~ last_text) }}
  {%- endif -%}
  {{ return({'first': first.isoformat(), 'last': last.isoformat(), 'days': (last - first).days + 1}) }}
{%- endmacro %}

{#- The first day of the range, audience_from, as a SQL date literal. -#}
{% macro audience_from_date() -%}
  cast('{{ audience_range()["first"] }}' as date)
{%- endmacro %}

{#- Day index of a date expression: 0 for audience_from, negative before it. -#}
{% macro audience_day_index(date_expr) -%}
  {{ days_between(audience_from_date(), date_expr) }}
{%- endmacro %}

{#- The date of a day index expression. -#}
{% macro audience_day_date(index_expr) -%}
  {{ days_after(audience_from_date(), index_expr) }}
{%- endmacro %}

{#- Day indexes 0 … days - 1 as a one-column query (column day_index), portable. -#}
{% macro audience_day_indexes(days) -%}
  select cast(generated_number as integer) - 1 as day_index
  from ({{ dbt.generate_series(days) }}) as series
{%- endmacro %}

{#- The intermediate audience models are computed for the build's range: audience_members must be
    built in the same dbt invocation as them, or it would read another range's days. Raises a
    clear error when one of them is not selected (e.g. `dbt build --select audience_members`
    alone); select `+audience_members` or `path:models/audiences` instead. -#}
{% macro audience_require_intermediates(names) -%}
  {%- if execute and selected_resources -%}
    {%- set missing = [] -%}
    {%- for name in names -%}
      {%- if ('model.memberflow.' ~ name) not in selected_resources -%}
        {%- do missing.append(name) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
      {{ exceptions.raise_compiler_error(
          "audience_members reads models computed for the build's day range; build them in the same run: "
          ~ missing | join(', ') ~ " not selected (select +audience_members or path:models/audiences)") }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- The person as an integer (the number in its one_id, macro one_id_number): the audience
    models partition, sort and join millions of rows per person, which integer keys make several
    times cheaper than text keys; one_id text comes back from marts.members at the end. -#}
{% macro audience_person_key(one_id_expr) -%}
  {{ one_id_number(one_id_expr) }}
{%- endmacro %}

{#- audience_stream_persons(emissions, profiles): the persons audience_members reads the streams of
    (orders, lots, redemptions, tiers, profiles) before reading them as of each emission's day.
    Only the emitted persons' values are ever used, so any superset gives the same rows.

    DuckDB: exactly the emitted persons (the streams of millions of members are not read).
    Spark: every member with a profile (every emission has one: eligible runs and reminders
    require a reachable profile). Spark plans a CTE again at each reference, so filtering the
    nine streams on the emissions would plan the whole cooldown scan nine more times: measured
    on the test dataset, 80 s of analysis and 450 shuffles for one statement. -#}
{% macro audience_stream_persons(emissions, profiles) -%}
  {{ return(adapter.dispatch('audience_stream_persons', 'memberflow')(emissions, profiles)) }}
{%- endmacro %}

{% macro default__audience_stream_persons(emissions, profiles) -%}
  select distinct person_key
  from {{ emissions }}
{%- endmacro %}

{% macro spark__audience_stream_persons(emissions, profiles) -%}
  select distinct person_key
  from {{ profiles }}
{%- endmacro %}
