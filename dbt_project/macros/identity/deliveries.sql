{#- Which raw deliveries count as of D (SPEC §1, §11), and the versions of a record.

    Per (raw table, file name): deliveries after D are not seen; a delivery whose sha256 equals
    the previous delivery of the same file name is an identical re-delivery and is skipped; of
    the others only the latest counts (a changed re-delivery replaces the file's rows). A delivery
    is known from raw.file_loads (so a re-delivery whose rows were all quarantined still replaces)
    and from the rows themselves (a file without a file_loads row is never skipped).

    Each raw row of a current delivery gets line_uid, a bigint unique across the raw tables whose
    order within a table is the version order (delivery date, then file name, then line):
    table number × 10^17 + days since 1970-01-01 of its delivery date × 10^12 + rank of its file
    name among that day's deliveries of the table × 10^8 + line_no. It depends on the row's own
    delivery day only, so a later delivery never renumbers an earlier row: the staging tables
    can be kept incrementally (macro staged_versions). Bounds: up to 9,999 files of a table per
    delivery day and 99,999,999 lines per file (test assert_line_uid_parts_fit). -#}

{#- The raw order and member tables whose deliveries the base tables version. -#}
{%- macro raw_delivery_tables() -%}
  {{ return(['pos_lines', 'meituan_orders', 'eleme_orders', 'miniprogram_orders', 'miniprogram_members']) }}
{%- endmacro -%}

{#- The models kept by raw file (base_raw__files, base_raw__file_loads). Each lists the raw
    Parquet files of its raw `tables` with their size and modification time (read_blob, which
    reads no content when none is selected), reads only the files that are new or differ in
    size or time from what it holds (on a full build, every file), replaces a rewritten file's
    rows by delete+insert on raw_path, and deletes in a post-hook the rows of files that are
    gone. `by_table`: the table has a raw_table column. DuckDB only. -#}
{%- macro kept_by_raw_file_config(tables, by_table) -%}
  {%- do config(
      enabled=(target.type == 'duckdb'),
      materialized='incremental',
      incremental_strategy='delete+insert',
      unique_key='raw_path',
      on_schema_change='fail',
      post_hook="{{ raw_files_drop_gone(" ~ tables ~ ", " ~ by_table ~ ") }}",
  ) -%}
{%- endmacro -%}

{#- The columns of a listing of raw files. -#}
{%- macro raw_files_columns(by_table) -%}
  {{ return((['raw_table'] if by_table else []) + ['raw_path', 'raw_size', 'raw_modified_us']) }}
{%- endmacro -%}

{#- Every raw file of `tables` (DuckDB): raw_path, raw_size and raw_modified_us (its modification
    time in microseconds since 1970), and raw_table with `by_table`, without reading any
    content. -#}
{%- macro raw_files_listed(tables, by_table) -%}
  {%- for table_name in tables %}
    select {% if by_table %}'{{ table_name }}' as raw_table, {% endif %}filename as raw_path, size as raw_size,
           epoch_us(last_modified) as raw_modified_us
    from read_blob('{{ raw_dir() }}/{{ table_name }}/*/*.parquet')
    {{ "union all" if not loop.last }}
  {%- endfor %}
{%- endmacro -%}

{#- The post-hook of a model kept by raw file: the rows of raw files that are gone. -#}
{%- macro raw_files_drop_gone(tables, by_table) -%}
  delete from {{ this }}
  where raw_path not in (select raw_path from ({{ raw_files_listed(tables, by_table) }}) listed_)
{%- endmacro -%}

{#- What a model kept by raw file reads in this build: [a query of the raw files it lists
    (raw_files_columns), the rows of the files to read (raw_files_columns' values)] on an
    incremental build, the files new or changed since; [every raw file, none] otherwise. -#}
{%- macro raw_files_to_read(tables, by_table) -%}
  {%- if not (execute and is_incremental()) -%}
    {{ return([raw_files_listed(tables, by_table), none]) }}
  {%- endif -%}
  {%- set columns = raw_files_columns(by_table) -%}
  {%- set found = run_query(
      "select l." ~ columns | join(", l.") ~ " from (" ~ raw_files_listed(tables, by_table) ~ ") l "
      ~ "left join " ~ this ~ " t on t.raw_path = l.raw_path and t.raw_size = l.raw_size "
      ~ "and t.raw_modified_us = l.raw_modified_us where t.raw_path is null order by all") -%}
  {%- set rows = found.rows | list -%}
  {{ return([raw_files_values(rows, columns), rows]) }}
{%- endmacro -%}

{#- `rows` of raw files as a relation with `columns` (raw_files_columns; no rows: an empty one). -#}
{%- macro raw_files_values(rows, columns) -%}
  {%- if rows %}
    select * from (values
    {%- for row in rows %}
        ({% for value in row %}{% if loop.revindex > 2 %}'{{ value | replace("'", "''") }}'{% else %}cast({{ value }} as bigint){% endif %}{{ ", " if not loop.last }}{% endfor %}){{ "," if not loop.last }}
    {%- endfor %}
    ) as v ({{ columns | join(', ') }})
  {%- else %}
    select {% for c in columns %}cast(null as {{ 'bigint' if c in ('raw_size', 'raw_modified_us') else 'varchar' }}) as {{ c }}{{ ", " if not loop.last }}{% endfor %}
    where 1 = 0
  {%- endif %}
{%- endmacro -%}

{#- The (raw table, file name, delivery date) of every raw row delivered up to D, as rows of
    base_raw__deliveries (no sha256 or load time): on DuckDB from base_raw__files, which is kept
    by raw file; elsewhere by reading the raw tables. -#}
{%- macro raw_rows_seen() -%}
  {{ return(adapter.dispatch('raw_rows_seen', 'memberflow')()) }}
{%- endmacro -%}

{%- macro default__raw_rows_seen() -%}
    {%- for table_name in raw_delivery_tables() %}
    select distinct '{{ table_name }}' as raw_table, file_name, delivery_date,
           cast(null as {{ dbt.type_string() }}) as sha256,
           cast(null as {{ dbt.type_string() }}) as loaded_at
    from {{ source('raw', table_name) }}
    where delivery_date <= {{ as_of_date() }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro -%}

{%- macro duckdb__raw_rows_seen() -%}
    select distinct raw_table, file_name, delivery_date,
           cast(null as {{ dbt.type_string() }}) as sha256,
           cast(null as {{ dbt.type_string() }}) as loaded_at
    from {{ ref('base_raw__files') }}
    where file_name is not null
      and delivery_date <= {{ as_of_date() }}
{%- endmacro -%}

{%- macro raw_table_number(table_name) -%}
  {%- set numbers = {
      'pos_lines': 1,
      'meituan_orders': 2,
      'eleme_orders': 3,
      'miniprogram_orders': 4,
      'miniprogram_members': 5,
  } -%}
  {{ return(numbers[table_name]) }}
{%- endmacro -%}

{%- macro raw_file_load_sources(table_name) -%}
  {%- set names = {
      'pos_lines': ['pos', 'pos_lines'],
      'meituan_orders': ['meituan', 'meituan_orders'],
      'eleme_orders': ['eleme', 'eleme_orders'],
      'miniprogram_orders': ['miniprogram', 'miniprogram_orders'],
      'miniprogram_members': ['miniprogram', 'miniprogram_members'],
  } -%}
  {{ return(names[table_name]) }}
{%- endmacro -%}

{#- Every delivery (file_name, delivery_date) of raw.<table_name> up to D, with its sha256 when
    file_loads has it (model base_raw__deliveries). `where`: an extra SQL condition on
    file_name / delivery_date. -#}
{% macro known_deliveries(table_name, where=none) -%}
  select file_name, delivery_date, sha256
  from {{ ref('base_raw__deliveries') }}
  where raw_table = '{{ table_name }}'
    {% if where %}and {{ where }}{% endif %}
{%- endmacro %}

{#- Every delivery of each file name up to D, flagged when it repeats the previous one's bytes.
    `where` must keep or drop a file name's deliveries all together (a condition on file_name). -#}
{% macro file_deliveries(table_name, where=none) -%}
  select
      file_name,
      delivery_date,
      sha256,
      case
          when sha256 is not null
           and sha256 = lag(sha256) over (partition by file_name order by delivery_date)
          then true else false
      end as is_identical_redelivery
  from ({{ known_deliveries(table_name, where) }}) deliveries
{%- endmacro %}

{#- The current delivery of each file name (its latest delivery that is not an identical
    re-delivery). `where` as for file_deliveries. -#}
{% macro current_deliveries(table_name, where=none) -%}
  select file_name, max(delivery_date) as delivery_date
  from ({{ file_deliveries(table_name, where) }}) d
  where not is_identical_redelivery
  group by file_name
{%- endmacro %}

{#- The rank of each file name among its delivery day's deliveries. `where` must keep or drop a
    day's deliveries all together (a condition on delivery_date). -#}
{% macro day_file_ranks(table_name, where=none) -%}
  select
      file_name,
      delivery_date,
      row_number() over (partition by delivery_date order by file_name) as day_file_rank
  from ({{ known_deliveries(table_name, where) }}) deliveries
{%- endmacro %}

{#- line_uid of a raw row `r` whose file has rank `rank` among its delivery day's files. -#}
{% macro line_uid(table_name, r, rank) -%}
  cast({{ raw_table_number(table_name) }} as {{ dbt.type_bigint() }}) * 100000000000000000
    + cast({{ days_between("cast('1970-01-01' as date)", r ~ '.delivery_date') }} as {{ dbt.type_bigint() }}) * 1000000000000
    + cast({{ rank }} as {{ dbt.type_bigint() }}) * 100000000
    + cast({{ r }}.line_no as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The rows of raw.<table_name> that count as of D, with their line_uid. `columns`: the raw
    columns to keep ('*' for all). -#}
{% macro current_raw_rows(table_name, columns='*') -%}
  select
      {% if columns == '*' %}r.*{% else %}{% for c in columns %}r.{{ c }}{{ ", " if not loop.last }}{% endfor %}{% endif %},
      {{ line_uid(table_name, 'r', 'dr.day_file_rank') }} as line_uid
  from {{ source('raw', table_name) }} r
  inner join ({{ current_deliveries(table_name) }}) cd
      on r.file_name = cd.file_name
     and r.delivery_date = cd.delivery_date
  inner join ({{ day_file_ranks(table_name) }}) dr
      on r.file_name = dr.file_name
     and r.delivery_date = dr.delivery_date
{%- endmacro %}

{#- The latest version of each record of raw.<table_name> as of D: by `key_columns`, the row
    with the largest line_uid; records with a null key part are left out. Nearly every record has
    a single version, so the versions are counted on an integer digest of the key (macro
    record_key_digest) and only the records whose digest occurs more than once are ranked on
    their real key. -#}
{% macro latest_raw_versions(table_name, key_columns) -%}
  {{ latest_versions_of(current_raw_rows(table_name), current_raw_rows(table_name, key_columns), key_columns) }}
{%- endmacro %}

{#- The latest version (largest line_uid) of each key among the rows of `rows_sql`;
    `keys_sql` selects the key columns of the same rows (cheaper to count on). -#}
{% macro latest_versions_of(rows_sql, keys_sql, key_columns) -%}
  with repeated_keys_ as (
      select {{ record_key_digest(key_columns) }} as key_digest
      from ({{ keys_sql }}) keys_
      where {{ key_not_null(key_columns) }}
      group by {{ record_key_digest(key_columns) }}
      having count(*) > 1
  ),

  repeated_rows_ as (
      select rows_.*
      from ({{ rows_sql }}) rows_
      inner join repeated_keys_ r_
          on r_.key_digest = {{ record_key_digest(key_columns, 'rows_') }}
      where {{ key_not_null(key_columns, 'rows_') }}
  ),

  latest_repeated_ as (
      select {% for k in key_columns %}{{ k }}, {% endfor %}max(line_uid) as line_uid
      from repeated_rows_
      group by {% for k in key_columns %}{{ k }}{{ ", " if not loop.last }}{% endfor %}
  )

  select single_.*
  from ({{ rows_sql }}) single_
  left join repeated_keys_ r_
      on r_.key_digest = {{ record_key_digest(key_columns, 'single_') }}
  where r_.key_digest is null
    and {{ key_not_null(key_columns, 'single_') }}

  union all

  select v_.*
  from repeated_rows_ v_
  inner join latest_repeated_ m_
      on m_.line_uid = v_.line_uid
{%- endmacro %}

{#- `<alias>.k1 is not null and <alias>.k2 is not null …`: a record has a key. -#}
{% macro key_not_null(key_columns, alias=none) -%}
  {%- for k in key_columns %}{{ alias ~ '.' if alias }}{{ k }} is not null{{ " and " if not loop.last }}{% endfor -%}
{%- endmacro %}

{#- An integer digest of a record key (several columns), for grouping; equal keys give equal
    digests (different keys rarely collide, and a collision only costs an exact comparison). -#}
{% macro record_key_digest(key_columns, alias=none) -%}
  {{ return(adapter.dispatch('record_key_digest', 'memberflow')(key_columns, alias)) }}
{%- endmacro %}

{#- Portable: the key itself, as one string. -#}
{% macro default__record_key_digest(key_columns, alias=none) -%}
  {%- set parts = [] -%}
  {%- for k in key_columns -%}
    {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
    {%- do parts.append(dbt.safe_cast((alias ~ '.' if alias else '') ~ k, dbt.type_string())) -%}
  {%- endfor -%}
  {{ dbt.concat(parts) }}
{%- endmacro %}

{% macro duckdb__record_key_digest(key_columns, alias=none) -%}
  hash({% for k in key_columns %}{{ alias ~ '.' if alias }}{{ k }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro spark__record_key_digest(key_columns, alias=none) -%}
  xxhash64({% for k in key_columns %}{{ alias ~ '.' if alias }}{{ k }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- fen (integer) → decimal(18,2) yuan, exactly. -#}
{% macro fen_to_yuan(fen) -%}
  cast(cast({{ fen }} as decimal(38, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2))
{%- endmacro %}

{#- raw.file_loads as the models read it: on DuckDB base_raw__file_loads, kept by raw file (a
    listed file without rows has a row of nulls there, which every reader's delivery_date filter
    drops); elsewhere the source. -#}
{%- macro raw_file_loads() -%}
  {{ return(adapter.dispatch('raw_file_loads', 'memberflow')()) }}
{%- endmacro -%}

{%- macro default__raw_file_loads() -%}
  {{ return(source('raw', 'file_loads')) }}
{%- endmacro -%}

{%- macro duckdb__raw_file_loads() -%}
  {{ return(ref('base_raw__file_loads')) }}
{%- endmacro -%}
