{#- The raw layer is Parquet written by ingestion: <raw>/<table>/<delivery date>/<file>.parquet.
    DuckDB reads it through each source's external_location; Spark registers one table per
    raw table at run start. -#}
{% macro raw_dir() -%}
  {{ env_var('MEMBERFLOW_RAW', 'data/raw') }}
{%- endmacro %}

{% macro register_raw_sources() -%}
  {{ return(adapter.dispatch('register_raw_sources', 'memberflow')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
  select 1
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
  {%- set tables = ['pos_lines', 'meituan_orders', 'eleme_orders', 'miniprogram_orders',
                    'miniprogram_members', 'quarantine', 'file_loads'] -%}
  create database if not exists raw;
  {%- for t in tables %}
  create table if not exists raw.{{ t }} using parquet
    options (path '{{ raw_dir() }}/{{ t }}', recursiveFileLookup 'true');
  {%- endfor %}
{%- endmacro %}
