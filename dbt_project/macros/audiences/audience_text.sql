{#- Text for the audience reasons marketing reads. -#}

{#- A non-negative integer expression with thousands separators: 2840 -> '2,840'. -#}
{% macro format_thousands(value) -%}
  {{ return(adapter.dispatch('format_thousands', 'memberflow')(value)) }}
{%- endmacro %}

{#- Portable: whole groups of three digits by integer division (values below 10^12). -#}
{% macro default__format_thousands(value) -%}
  {%- set v = 'cast(' ~ value ~ ' as bigint)' -%}
  {%- set groups = [] -%}
  case
  {%- for power in [3, 2, 1] %}
    when {{ v }} >= {{ 1000 ** power }} then {{ dbt.concat([
          'cast(' ~ int_floor_div(v, 1000 ** power) ~ ' as ' ~ dbt.type_string() ~ ')',
        ] + _thousands_groups(v, power)) }}
  {%- endfor %}
    else cast({{ v }} as {{ dbt.type_string() }})
  end
{%- endmacro %}

{#- The ',ddd' groups below 1000^power, as concat() arguments. -#}
{% macro _thousands_groups(v, power) -%}
  {%- set parts = [] -%}
  {%- for p in range(power - 1, -1, -1) -%}
    {%- do parts.append("','") -%}
    {%- do parts.append("lpad(cast(" ~ int_floor_div(v, 1000 ** p) ~ " % 1000 as " ~ dbt.type_string() ~ "), 3, '0')") -%}
  {%- endfor -%}
  {{ return(parts) }}
{%- endmacro %}

{#- A date expression as 'YYYY-MM-DD' text. -#}
{% macro date_text(date_expr) -%}
  cast({{ date_expr }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- The 8-segment RFM model (SPEC §5) from three boolean expressions: R high, F high, M high. -#}
{% macro rfm_segment_of(r_high, f_high, m_high) -%}
  case
      when ({{ r_high }}) and ({{ f_high }}) and ({{ m_high }}) then 'important_value'
      when ({{ r_high }}) and not ({{ f_high }}) and ({{ m_high }}) then 'important_develop'
      when not ({{ r_high }}) and ({{ f_high }}) and ({{ m_high }}) then 'important_retain'
      when not ({{ r_high }}) and not ({{ f_high }}) and ({{ m_high }}) then 'important_winback'
      when ({{ r_high }}) and ({{ f_high }}) then 'general_value'
      when ({{ r_high }}) and not ({{ f_high }}) then 'general_develop'
      when not ({{ r_high }}) and ({{ f_high }}) then 'general_retain'
      else 'general_winback'
  end
{%- endmacro %}

{#- The points_expiry reason: one 'lot of 120 points expires on 2024-06-30 (in 30 days)' per
    reminder offset that holds a lot (columns points_left_<days>, expiry_date_<days>), nearest
    first, joined by '; '. -#}
{% macro point_reminder_reason(reminder_days) -%}
  {%- set ns = namespace(text=none) -%}
  {%- for days in reminder_days | sort -%}
    {%- set one = "case when points_left_" ~ days ~ " is not null then " ~ dbt.concat([
          "'lot of '", format_thousands('points_left_' ~ days), "' points expires on '",
          date_text('expiry_date_' ~ days), "' (in " ~ days ~ " days)'"]) ~ " end" -%}
    {%- if ns.text is none -%}
      {%- set ns.text = one -%}
    {%- else -%}
      {%- set ns.text = "case when (" ~ ns.text ~ ") is null then " ~ one
            ~ " when (" ~ one ~ ") is null then " ~ ns.text
            ~ " else " ~ dbt.concat([ns.text, "'; '", one]) ~ " end" -%}
    {%- endif -%}
  {%- endfor -%}
  {{ ns.text if ns.text is not none else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
{%- endmacro %}
