{#- Which landing files each raw Parquet file of the order and member tables holds: one row per
    (raw file, file_name, delivery_date) of its rows, and one with a null file_name for a raw
    file without rows (_empty/). base_raw__deliveries takes "the rows themselves" from here.

    Kept by raw file: a build lists the raw files with their size and modification time
    (read_blob, which reads no content when none is selected) and reads only the files that are
    new or differ in size or time from what the table holds; delete+insert on raw_path replaces a
    rewritten file's rows and the post-hook deletes the rows of files that are gone. So a daily
    build reads its day's files instead of two columns of every raw row (12 M at 1 M members).
    A full build (or --full-refresh) reads every file. DuckDB only: on Spark,
    base_raw__deliveries scans the raw tables (macro raw_rows_seen). -#}
{%- set tables = raw_delivery_tables() -%}
{{ kept_by_raw_file_config(tables, true) }}
{%- for table_name in tables %}
-- depends_on: {{ source('raw', table_name) }}
{%- endfor %}
{%- set incremental = execute and is_incremental() -%}
{%- set listed, rows = raw_files_to_read(tables, true) -%}
{%- set to_read = {} -%}
{%- for row in rows or [] %}{% do to_read.setdefault(row[0], []).append(row[1]) %}{% endfor %}
with listed as (
    {{ listed }}
),

seen as (
    {%- set branches = [] -%}
    {%- for table_name in tables -%}
      {%- if not incremental -%}
        {%- do branches.append(raw_parquet_files([raw_dir() ~ "/" ~ table_name ~ "/*/*.parquet"], filename=true)) -%}
      {%- elif to_read.get(table_name) -%}
        {%- do branches.append(raw_parquet_files(to_read[table_name], filename=true)) -%}
      {%- endif -%}
    {%- endfor %}
    {%- for relation in branches %}
    select distinct filename as raw_path, file_name, delivery_date
    from {{ relation }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not branches %}
    select cast(null as varchar) as raw_path, cast(null as varchar) as file_name, cast(null as date) as delivery_date
    where 1 = 0
    {%- endif %}
)

select
    l.raw_table,
    l.raw_path,
    l.raw_size,
    l.raw_modified_us,
    s.file_name,
    s.delivery_date
from listed l
left join seen s
    on s.raw_path = l.raw_path
