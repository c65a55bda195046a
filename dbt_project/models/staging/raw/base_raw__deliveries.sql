{#- Every delivery of every raw order and member table up to D: one row per (raw table, file
    name, delivery date), with the file's sha256 and load time (as text) when raw.file_loads has
    it; ingestion keeps a file's load time while its bytes and counts do not change. A delivery is known
    from file_loads (so a re-delivery whose rows were all quarantined still replaces) and from the
    rows themselves (a file without a file_loads row is never skipped; on DuckDB those come from
    base_raw__files, kept by raw file). The base tables take their version logic from here
    (macros/identity/deliveries.sql): one read of the thousands of small file_loads and raw
    Parquet files per build, not one per use. -#}
{%- set tables = raw_delivery_tables() -%}
with load_sources as (
    {%- for table_name in tables %}
    {%- set outer = loop %}
    {%- for source_name in raw_file_load_sources(table_name) %}
    select '{{ source_name }}' as source, '{{ table_name }}' as raw_table
    {{ "union all" if not (loop.last and outer.last) }}
    {%- endfor %}
    {%- endfor %}
),

loads as (
    select s.raw_table, f.file_name, f.delivery_date, f.sha256,
           cast(f.loaded_at as {{ dbt.type_string() }}) as loaded_at
    from {{ raw_file_loads() }} f
    inner join load_sources s
        on s.source = f.source
    where f.delivery_date <= {{ as_of_date() }}
),

rows_seen as (
    {{ raw_rows_seen() }}
)

select raw_table, file_name, delivery_date, max(sha256) as sha256, max(loaded_at) as loaded_at
from (
    select * from loads
    union all
    select * from rows_seen
) known
group by raw_table, file_name, delivery_date
