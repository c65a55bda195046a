{#- raw.file_loads (one row per landing-file delivery that ingestion loaded: its sha256, encoding,
    row counts and load time), kept by raw file on DuckDB as base_raw__files is: a build lists the
    file_loads Parquet files with their size and modification time (read_blob reads no content)
    and reads only those that are new or differ from what the table holds; delete+insert on
    raw_path replaces a rewritten file's rows and the post-hook deletes the rows of files that are
    gone. A listed file without rows keeps one row with null columns, so that a file rewritten
    empty still replaces its old rows. A daily build reads its day's few files instead of opening
    every file of every day (2,000 at 400 days, 0.3-0.8 s per read at 1 M members, and
    base_raw__deliveries and quality.file_loads each read them all). A full build (or
    --full-refresh) reads every file. DuckDB only: elsewhere the two read raw.file_loads (macro
    raw_file_loads). -#}
{{ kept_by_raw_file_config(['file_loads'], false) }}
-- depends_on: {{ source('raw', 'file_loads') }}
{%- set columns = ['source', 'delivery_date', 'file_name', 'sha256', 'encoding', 'rows_read',
                   'rows_loaded', 'rows_quarantined', 'loaded_at'] -%}
{%- set incremental = execute and is_incremental() -%}
{%- set listed, rows = raw_files_to_read(['file_loads'], false) -%}
{%- set to_read = (rows or []) | map(attribute=0) | list %}
with listed as (
    {{ listed }}
),

loads as (
    {#- on a daily build, with the file of the folder _empty/ (no rows, every column: the
        columns keep their types whichever files a build reads, none included) -#}
    {%- set empty = raw_dir() ~ "/file_loads/_empty/*.parquet" %}
    select filename, {{ columns | join(', ') }}
    from {{ raw_parquet_files((to_read + [empty]) if incremental else [raw_dir() ~ "/file_loads/*/*.parquet"], filename=true) }}
)

select
    l.raw_path,
    l.raw_size,
    l.raw_modified_us,
    {%- for c in columns %}
    f.{{ c }}{{ "," if not loop.last }}
    {%- endfor %}
from listed l
left join loads f
    on f.filename = l.raw_path
