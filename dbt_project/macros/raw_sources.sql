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


{#- raw.<table_name> for a build that reads only the rows delivered after `since` (a table
    brought forward from its D). Ingestion writes a delivery's files to
    <raw>/<table>/<delivery date>/ (assets/ingest/layout.py), so on DuckDB this reads the folders
    named after `since`, plus _empty/ (no rows, the full schema), instead of opening every file
    of every day to filter on delivery_date: 400 days are 400 footers per read. The caller keeps
    its `delivery_date > since` filter; the rows are the same. With no such file (no raw layer
    yet), and on other engines, it is the source itself. -#}
{% macro raw_delivered_after(table_name, since) -%}
  {{ return(adapter.dispatch('raw_delivered_after', 'memberflow')(table_name, since)) }}
{%- endmacro %}

{% macro default__raw_delivered_after(table_name, since) -%}
  {{ return(source('raw', table_name)) }}
{%- endmacro %}

{% macro duckdb__raw_delivered_after(table_name, since) -%}
  {%- set relation = source('raw', table_name) -%}
  {%- if not execute -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set after = since | string -%}
  {%- set found = run_query("select file from glob('" ~ raw_dir() ~ "/" ~ table_name ~ "/*/*.parquet') order by file") -%}
  {%- set files = [] -%}
  {%- for path in found.columns[0].values() -%}
    {%- set folder = path.replace('\\', '/').split('/')[-2] -%}
    {%- if folder == '_empty' or (folder | length == 10 and folder > after) -%}
      {%- do files.append(path) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not files -%}
    {{ return(relation) }}
  {%- endif -%}
  {{ return(raw_parquet_files(files)) }}
{%- endmacro %}


{#- DuckDB: a relation over the Parquet files (or globs) `paths`, their columns united by name;
    with `filename`, each row's file path too (column filename). -#}
{% macro raw_parquet_files(paths, filename=false) -%}
  {%- set quoted = [] -%}
  {%- for path in paths -%}
    {%- do quoted.append("'" ~ path | replace("'", "''") ~ "'") -%}
  {%- endfor -%}
  {{ return("read_parquet([" ~ quoted | join(", ") ~ "]" ~ (", filename = true" if filename else "")
            ~ ", union_by_name = true)") }}
{%- endmacro %}
