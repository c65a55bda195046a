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
