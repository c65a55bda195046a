{#- A fingerprint of the rows of a group, order-free: an aggregate of `expr` (one value or a
    comma-separated list of columns) over the group's rows (DuckDB: xor of their hashes;
    elsewhere nothing, the kept tables are rebuilt whole). An order's is over its line_uids
    (lines_fingerprint), a person's over its valid orders (int_member_order_totals). -#}
{% macro rows_fingerprint(expr) -%}
  {{ return(adapter.dispatch('rows_fingerprint', 'memberflow')(expr)) }}
{%- endmacro %}

{% macro default__rows_fingerprint(expr) -%}
  cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__rows_fingerprint(expr) -%}
  cast(bit_xor(hash({{ expr }})) as ubigint)
{%- endmacro %}

{#- The fingerprint of a group of one row: what rows_fingerprint gives for it, without grouping
    (an order of one line: macro record_fingerprints). -#}
{% macro line_fingerprint(line_uid) -%}
  {{ return(adapter.dispatch('line_fingerprint', 'memberflow')(line_uid)) }}
{%- endmacro %}

{% macro default__line_fingerprint(line_uid) -%}
  cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__line_fingerprint(line_uid) -%}
  cast(hash({{ line_uid }}) as ubigint)
{%- endmacro %}
