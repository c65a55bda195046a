{#- asof_join: every row of `left` with the columns of the latest row of `right` of the same key
    at or before it: right.<time> <= left.<time>, the largest such (a left join: null columns
    when there is none). `right` must hold one row per (key, time). Used to read a member's
    running totals, positions, tier and profile on the days it is emitted, without a
    member × day table.

    left, right: relations or CTE names; key: the shared key column; left_time / right_time:
    comparable columns (day indexes or stream positions); columns: the right columns to add,
    whose names must not already be columns of left. -#}
{% macro asof_join(left, right, key, left_time, right_time, columns) -%}
  {{ return(adapter.dispatch('asof_join', 'memberflow')(left, right, key, left_time, right_time, columns)) }}
{%- endmacro %}

{#- DuckDB: its ASOF join (a sort-merge of both sides by key and time). -#}
{% macro duckdb__asof_join(left, right, key, left_time, right_time, columns) -%}
  select
      l.*
      {%- for column in columns %},
      r.{{ column }}
      {%- endfor %}
  from {{ left }} as l
  asof left join {{ right }} as r
      on l.{{ key }} = r.{{ key }}
     and l.{{ left_time }} >= r.{{ right_time }}
{%- endmacro %}

{#- Spark: left and right rows in one stream per key, ordered by time (right before left at equal
    times), each side packed whole in a struct; the last right struct up to a left row (last with
    ignore nulls: a right struct is never null, even when its columns are) is the matching right
    row. One pass over each side: the portable form below reads `left` twice, and Spark inlines a
    CTE at every reference, so a chain of as-of joins (audience_members has nine) would plan
    2^9 copies of its first input. Rows with a null key or time never match (as in DuckDB). -#}
{% macro spark__asof_join(left, right, key, left_time, right_time, columns) -%}
  select
      asof_.left_row_.*
      {%- for column in columns %},
      asof_.right_row_.{{ column }} as {{ column }}
      {%- endfor %}
  from (
      select
          left_row_,
          last(right_row_, true) over (
              partition by asof_key_ order by asof_time_, row_kind_
              rows between unbounded preceding and current row
          ) as right_row_
      from (
          select
              l.{{ key }} as asof_key_,
              l.{{ left_time }} as asof_time_,
              1 as row_kind_,
              struct(l.*) as left_row_,
              null as right_row_
          from {{ left }} as l
          union all
          select
              r.{{ key }} as asof_key_,
              r.{{ right_time }} as asof_time_,
              0 as row_kind_,
              null as left_row_,
              named_struct(
                  {%- for column in columns %}
                  '{{ column }}', r.{{ column }}{{ "," if not loop.last }}
                  {%- endfor %}
              ) as right_row_
          from {{ right }} as r
          where r.{{ key }} is not null
            and r.{{ right_time }} is not null
      ) as stream_
  ) as asof_
  -- the left rows (their struct is never null); filtering on row_kind_ here lost rows whose
  -- key is null on Spark 4.3
  where asof_.left_row_ is not null
{%- endmacro %}

{#- Portable: the distinct left times and the right times in one stream per key, ordered by time
    (right before left at equal times); the running maximum of the right times is the time of the
    matching right row, which is then joined on (key, time). -#}
{% macro default__asof_join(left, right, key, left_time, right_time, columns) -%}
  select
      l.*
      {%- for column in columns %},
      r.{{ column }}
      {%- endfor %}
  from {{ left }} as l
  left join (
      select asof_key, asof_time, matched_time
      from (
          select
              asof_key,
              asof_time,
              row_kind,
              max(case when row_kind = 0 then asof_time end) over (
                  partition by asof_key order by asof_time, row_kind
                  rows between unbounded preceding and current row
              ) as matched_time
          from (
              select {{ key }} as asof_key, {{ right_time }} as asof_time, 0 as row_kind
              from {{ right }}
              union all
              select distinct {{ key }} as asof_key, {{ left_time }} as asof_time, 1 as row_kind
              from {{ left }}
          ) as stream
      ) as running
      where row_kind = 1
  ) as m
      on m.asof_key = l.{{ key }}
     and m.asof_time = l.{{ left_time }}
  left join {{ right }} as r
      on r.{{ key }} = l.{{ key }}
     and r.{{ right_time }} = m.matched_time
{%- endmacro %}

{#- valid_during(alias, first, last): the row of a validity table (valid_from, valid_to, both
    inclusive; valid_to null = still valid) holds on at least one day of [first, last]. alias:
    the table's alias ('' for none); first / last: day expressions of the same kind as the
    columns (dates or day indexes). valid_on(alias, day) = the row holds on that day. The
    profile, outlook and tier stretches of the audience models are read this way. -#}
{% macro valid_during(alias, first, last) -%}
  {%- set p = (alias ~ '.') if alias else '' -%}
  {{ p }}valid_from <= {{ last }} and ({{ p }}valid_to is null or {{ p }}valid_to >= {{ first }})
{%- endmacro %}

{% macro valid_on(alias, day) -%}
  {{ valid_during(alias, day, day) }}
{%- endmacro %}
