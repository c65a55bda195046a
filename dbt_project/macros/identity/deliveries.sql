{#- Which raw deliveries count as of D (SPEC §1, §11), and the versions of a record.

    Per (raw table, file name): deliveries after D are not seen; a delivery whose sha256 equals
    the previous delivery of the same file name is an identical re-delivery and is skipped; of
    the others only the latest counts (a changed re-delivery replaces the file's rows). A delivery
    is known from raw.file_loads (so a re-delivery whose rows were all quarantined still replaces)
    and from the rows themselves (a file without a file_loads row is never skipped).

    Each raw row of a current delivery gets line_uid, a bigint unique across the raw tables whose
    order within a table is the version order (delivery date, then file name, then line):
    table number × 10^17 + rank of its delivery × 10^9 + line_no. -#}

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

{#- Every delivery of each file name up to D, flagged when it repeats the previous one's bytes. -#}
{% macro file_deliveries(table_name) -%}
  select
      file_name,
      delivery_date,
      sha256,
      case
          when sha256 is not null
           and sha256 = lag(sha256) over (partition by file_name order by delivery_date)
          then true else false
      end as is_identical_redelivery
  from (
      select file_name, delivery_date, max(sha256) as sha256
      from (
          select file_name, delivery_date, sha256
          from {{ source('raw', 'file_loads') }}
          where delivery_date <= {{ as_of_date() }}
            and source in ('{{ raw_file_load_sources(table_name) | join("', '") }}')
          union all
          select distinct file_name, delivery_date, cast(null as {{ dbt.type_string() }}) as sha256
          from {{ source('raw', table_name) }}
          where delivery_date <= {{ as_of_date() }}
      ) known
      group by file_name, delivery_date
  ) deliveries
{%- endmacro %}

{#- The current delivery of each file name, ranked in version order. -#}
{% macro current_deliveries(table_name) -%}
  select
      file_name,
      delivery_date,
      row_number() over (order by delivery_date, file_name) as delivery_rank
  from (
      select file_name, max(delivery_date) as delivery_date
      from ({{ file_deliveries(table_name) }}) d
      where not is_identical_redelivery
      group by file_name
  ) current_files
{%- endmacro %}

{#- The rows of raw.<table_name> that count as of D, with their line_uid. `columns`: the raw
    columns to keep ('*' for all). -#}
{% macro current_raw_rows(table_name, columns='*') -%}
  select
      {% if columns == '*' %}r.*{% else %}{% for c in columns %}r.{{ c }}{{ ", " if not loop.last }}{% endfor %}{% endif %},
      cast({{ raw_table_number(table_name) }} as {{ dbt.type_bigint() }}) * 100000000000000000
        + cast(cd.delivery_rank as {{ dbt.type_bigint() }}) * 1000000000
        + cast(r.line_no as {{ dbt.type_bigint() }}) as line_uid
  from {{ source('raw', table_name) }} r
  inner join ({{ current_deliveries(table_name) }}) cd
      on r.file_name = cd.file_name
     and r.delivery_date = cd.delivery_date
{%- endmacro %}

{#- The latest version of each record of raw.<table_name> as of D: by `key_columns`, the row
    with the largest line_uid. Nearly every record has a single version, so the versions are
    counted on an integer digest of the key (macro record_key_digest) and only the records
    whose digest occurs more than once are ranked on their real key. -#}
{% macro latest_raw_versions(table_name, key_columns) -%}
  with repeated_keys_ as (
      select {{ record_key_digest(key_columns) }} as key_digest
      from ({{ current_raw_rows(table_name, key_columns) }}) keys_
      group by {{ record_key_digest(key_columns) }}
      having count(*) > 1
  )

  select single_.*, 1 as version_rank_
  from ({{ current_raw_rows(table_name) }}) single_
  left join repeated_keys_ r_
      on r_.key_digest = {{ record_key_digest(key_columns, 'single_') }}
  where r_.key_digest is null

  union all

  select ranked_.*
  from (
      select
          rows_.*,
          row_number() over (
              partition by {% for k in key_columns %}rows_.{{ k }}{{ ", " if not loop.last }}{% endfor %}
              order by rows_.line_uid desc
          ) as version_rank_
      from ({{ current_raw_rows(table_name) }}) rows_
      inner join repeated_keys_ r_
          on r_.key_digest = {{ record_key_digest(key_columns, 'rows_') }}
  ) ranked_
  where version_rank_ = 1
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
