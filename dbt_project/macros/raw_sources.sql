{#- The raw layer is Parquet written by ingestion: <raw>/<table>/<delivery date>/<file>.parquet.
    DuckDB reads it through each source's external_location; Spark registers one table per
    raw table at run start (and the store master CSV, macro store_master_relation). -#}
{% macro raw_dir() -%}
  {{ env_var('MEMBERFLOW_RAW', 'data/raw') }}
{%- endmacro %}

{% macro raw_tables() -%}
  {{ return(['pos_lines', 'meituan_orders', 'eleme_orders', 'miniprogram_orders',
             'miniprogram_members', 'quarantine', 'file_loads']) }}
{%- endmacro %}

{% macro register_raw_sources() -%}
  {{ return(adapter.dispatch('register_raw_sources', 'memberflow')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
  select 1
{%- endmacro %}

{#- Spark: unmanaged (external) tables over the raw folders, dropped and created again on every
    run: dropping one never touches its files, and a new table lists the files delivered since
    the last run and follows a changed MEMBERFLOW_RAW. Every sub-folder is read (one per delivery
    date, plus _empty/ that holds the schema); delivery_date is a column of the files. -#}
{% macro spark__register_raw_sources() -%}
  {%- if execute -%}
    {% do run_query('create database if not exists raw') %}
    {%- for t in raw_tables() %}
      {% do run_query('drop table if exists raw.' ~ t) %}
      {% do run_query("create table raw." ~ t ~ " using parquet options (path '" ~ raw_dir() ~ "/" ~ t
                      ~ "', recursiveFileLookup 'true')") %}
    {%- endfor %}
    {% do spark_register_store_master(run_value('stores_path')) %}
  {%- endif -%}
  select 1
{%- endmacro %}
