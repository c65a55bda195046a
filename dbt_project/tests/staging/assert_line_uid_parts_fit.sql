{#- line_uid packs (raw table, delivery day, rank of the file in its day, line) into one bigint
    (macros/identity/deliveries.sql, macro line_uid): a line number of 10^8 or more, or a 10,000th
    file of one table on one day, would spill into the next part and break the version order.
    In Dagster an asset check of the POS lines, the largest of the five tables it reads (a
    singular test of several models needs one named). -#}
{{ config(meta={'dagster': {'ref': {'name': 'base_pos__lines'}}}) }}
{%- set bases = [('pos_lines', 'base_pos__lines'), ('meituan_orders', 'base_meituan__orders'),
                 ('eleme_orders', 'base_eleme__orders'), ('miniprogram_orders', 'base_miniprogram__orders'),
                 ('miniprogram_members', 'base_miniprogram__member_events')] -%}
{%- for table_name, model in bases %}
select '{{ table_name }}' as raw_table, file_name, delivery_date, line_no, line_uid
from {{ ref(model) }}
where line_no < 0
   or line_no >= 100000000
   or line_uid - cast({{ raw_table_number(table_name) }} as {{ dbt.type_bigint() }}) * 100000000000000000
      - cast({{ days_between("cast('1970-01-01' as date)", 'delivery_date') }} as {{ dbt.type_bigint() }}) * 1000000000000
      >= 1000000000000
{{ "union all" if not loop.last }}
{%- endfor %}
