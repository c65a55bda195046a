{#- The store master: the CSV named by memberflow.yaml paths.stores (MEMBERFLOW_STORES, or
    `memberflow run --stores FILE`) when it exists, else the dbt seed `stores`. Every column is read
    as text (shop ids such as 0123 keep their zeros); stg_stores types them. -#}
{% macro store_master_relation() -%}
  {%- set path = cfg('stores_path') if execute else none -%}
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
