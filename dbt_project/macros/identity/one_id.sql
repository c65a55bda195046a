{#- Stable one_id state (identity.one_id_registry): an append-only history of identifier → one_id
    assignments, one row per change, valid from the as-of date D of the run that made it.

    A build for D first forgets what builds for D or later wrote (so rebuilding D, or rebuilding
    an earlier date in a backfill, starts from exactly the state of the dates before it and gives
    the same ids again), then appends D's changes. -#}
{% macro one_id_registry_truncate() -%}
  {%- if is_incremental() -%}
    {{ delete_rows(this, 'valid_from >= ' ~ as_of_date()) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}

{#- one_id text of sequence number n: 'P' followed by 12 digits, e.g. P000000000042. -#}
{% macro one_id_from_number(n) -%}
  {{ dbt.concat(["'P'", "lpad(" ~ dbt.safe_cast(n, dbt.type_string()) ~ ", 12, '0')"]) }}
{%- endmacro %}

{% macro one_id_number(one_id) -%}
  cast(substr({{ one_id }}, 2) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- Aggregate: the value of `value_expr` on the row with the largest `order_expr` (a date) in the
    group; null values count (a later null wins). -#}
{% macro value_at_latest(value_expr, order_expr) -%}
  {{ return(adapter.dispatch('value_at_latest', 'memberflow')(value_expr, order_expr)) }}
{%- endmacro %}

{% macro duckdb__value_at_latest(value_expr, order_expr) -%}
  arg_max_null({{ value_expr }}, {{ order_expr }})
{%- endmacro %}

{% macro spark__value_at_latest(value_expr, order_expr) -%}
  max_by({{ value_expr }}, {{ order_expr }})
{%- endmacro %}

{#- Portable: the latest ISO date string glued in front of the value, then cut off again. -#}
{% macro default__value_at_latest(value_expr, order_expr) -%}
  nullif(substr(max({{ dbt.concat([dbt.safe_cast(order_expr, dbt.type_string()), "'|'", "coalesce(" ~ value_expr ~ ", '')"]) }}), 12), '')
{%- endmacro %}
