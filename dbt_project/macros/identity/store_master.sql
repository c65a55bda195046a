{#- The store master: the CSV named by memberflow.yaml paths.stores (MEMBERFLOW_STORES, or
    `memberflow run --stores FILE`) when it exists, else the dbt seed `stores`. Every column is read
    as text (shop ids such as 0123 keep their zeros); stg_stores types them. -#}
{% macro store_master_relation() -%}
  {%- set path = run_value('stores_path') if execute else none -%}
  {{ return(adapter.dispatch('store_master_relation', 'memberflow')(path)) }}
{%- endmacro %}

{% macro default__store_master_relation(path) -%}
  {#- Reading a CSV by path is engine specific; elsewhere the seed (load it with `dbt seed`). -#}
  {{ ref('stores') }}
{%- endmacro %}

{% macro duckdb__store_master_relation(path) -%}
  {%- if path -%}
    read_csv('{{ path }}', header = true, all_varchar = true)
  {%- else -%}
    {{ ref('stores') }}
  {%- endif -%}
{%- endmacro %}

{#- Spark: the table raw.store_master over the CSV (registered at run start by
    spark_register_store_master); Spark's CSV reader without schema inference reads every
    column as text, as DuckDB's all_varchar does. -#}
{% macro spark__store_master_relation(path) -%}
  {%- if path -%}
    raw.store_master
  {%- else -%}
    {{ ref('stores') }}
  {%- endif -%}
{%- endmacro %}

{#- Run at run start (spark__register_raw_sources): an unmanaged CSV table over the store master
    file, header row, RFC 4180 quoting ("" inside quotes), an empty field read as null (DuckDB:
    the same; stg_stores also turns '' into null). -#}
{% macro spark_register_store_master(path) -%}
  {% do run_query('drop table if exists raw.store_master') %}
  {%- if path -%}
    {% do run_query("create table raw.store_master using csv options (path '" ~ path
                    ~ "', header 'true', inferSchema 'false', quote '\"', escape '\"', encoding 'UTF-8')") %}
  {%- endif -%}
{%- endmacro %}
