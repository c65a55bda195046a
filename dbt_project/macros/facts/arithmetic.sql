{#- Exact arithmetic for facts: integer division, half-up ratios, yuan <-> fen, date offsets.
    Money is decimal(18,2) yuan; ratios and averages are computed on integers (fen, counts) so that
    no value passes through a float, on DuckDB as on Spark. -#}

{#- floor(numerator / denominator) for non-negative integer expressions. -#}
{% macro int_floor_div(numerator, denominator) -%}
  {{ return(adapter.dispatch('int_floor_div', 'memberflow')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_floor_div(numerator, denominator) -%}
  cast(floor(cast({{ numerator }} as decimal(38, 0)) / cast({{ denominator }} as decimal(38, 0))) as bigint)
{%- endmacro %}

{% macro duckdb__int_floor_div(numerator, denominator) -%}
  (cast({{ numerator }} as bigint) // cast({{ denominator }} as bigint))
{%- endmacro %}

{% macro spark__int_floor_div(numerator, denominator) -%}
  (cast({{ numerator }} as bigint) div cast({{ denominator }} as bigint))
{%- endmacro %}

{#- ceil(numerator / denominator) for non-negative integers (denominator > 0). -#}
{% macro int_ceil_div(numerator, denominator) -%}
  {{ int_floor_div('(' ~ numerator ~ ') + (' ~ denominator ~ ') - 1', denominator) }}
{%- endmacro %}

{#- numerator / denominator rounded half up to `scale` decimals, as decimal(18, scale);
    non-negative integer operands; null when the denominator is 0 or null. -#}
{% macro int_ratio_half_up(numerator, denominator, scale=4) -%}
  {%- set factor = 10 ** scale -%}
  case when ({{ denominator }}) > 0 then
    cast(
      cast({{ int_floor_div('2 * cast(' ~ numerator ~ ' as bigint) * ' ~ factor ~ ' + (' ~ denominator ~ ')', '2 * (' ~ denominator ~ ')') }} as decimal(38, 0))
      {%- if scale > 0 %} * cast(0.{{ '0' * (scale - 1) }}1 as decimal({{ scale + 1 }}, {{ scale }})){% endif %}
      as decimal(18, {{ scale }}))
  end
{%- endmacro %}

{#- A decimal(18,2) yuan amount as an integer number of fen (exact). -#}
{% macro yuan_as_fen(amount) -%}
  cast(({{ amount }}) * 100 as bigint)
{%- endmacro %}

{#- An integer number of fen as decimal(18,2) yuan (exact). -#}
{% macro fen_as_yuan(fen) -%}
  cast(cast({{ fen }} as decimal(38, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2))
{%- endmacro %}

{#- The date `days` days after `date_expr` (negative: before), as a date; null stays null.
    (dbt-spark's dateadd asserts its input is not null, so Spark gets date_add directly.) -#}
{% macro days_after(date_expr, days) -%}
  {{ return(adapter.dispatch('days_after', 'memberflow')(date_expr, days)) }}
{%- endmacro %}

{% macro default__days_after(date_expr, days) -%}
  cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro spark__days_after(date_expr, days) -%}
  date_add({{ date_expr }}, {{ days }})
{%- endmacro %}

{#- Whole days from `start_date` to `end_date` (dates). -#}
{% macro days_between(start_date, end_date) -%}
  {{ return(adapter.dispatch('days_between', 'memberflow')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
  cast({{ dbt.datediff(start_date, end_date, 'day') }} as integer)
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
  datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- The label of the largest of a few counts, ties → the first listed; null when every count is 0
    or null. `pairs`: a list of (label SQL, count SQL). -#}
{% macro label_of_max(pairs) -%}
  {%- set counts = [] -%}
  {%- for label, count in pairs %}{% do counts.append(count) %}{% endfor -%}
  case when greatest({{ counts | join(', ') }}) > 0 then
    case greatest({{ counts | join(', ') }})
    {%- for label, count in pairs %}
      when {{ count }} then {{ label }}
    {%- endfor %}
    end
  end
{%- endmacro %}
