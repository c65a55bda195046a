{#- The staging base tables, base_<source>__<entity>: the latest version of every record of a raw
    table as of D (macros/identity/deliveries.sql), before the business-date filter that the
    staging view on top applies.

    On DuckDB they are kept incrementally. The table's comment records the D it was built for
    and a digest of the deliveries it was built from ("memberflow staged as of YYYY-MM-DD
    deliveries <md5>"). A build for a later D reads only what was delivered
    after that day: the files whose current delivery is new (not an identical re-delivery),
    their rows with line_uid, and, for a record whose kept version sits in a file that was
    delivered again with other content and that no new row covers, its other versions in the
    raw layer. dbt's delete+insert on the record key then replaces those records; a post-hook
    removes the records of re-delivered files that no version holds any more and sets the
    comment. A table of an unknown or later D (a build for an earlier day, a table from before
    this scheme), or one whose deliveries up to its D changed since (a file ingested late into
    an old delivery folder), is emptied by the pre-hook and rebuilt whole; so is any table under
    `--full-refresh`. A rerun for the same D finds nothing delivered and changes nothing.

    A table brought forward hands on what it changed in <table>__delta: the line_uid of every
    row it removed (added false: replaced by another version of its record, or left by its
    re-delivered file) and wrote (added true), with what it is a change from ("memberflow
    staged_delta as of D from D0 run <invocation that built the table as of D0>"; the table's
    comment ends with " run <invocation>"). The rows a later model or test may have to look at
    again are those and the rows whose business date is after D0 (the staging views' filter
    moved: macro staged_rows_since). A table rebuilt whole hands on no delta.

    Spark: plain tables, rebuilt whole every build (the same SQL as DuckDB's full build). -#}

{% macro staging_materialization() -%}
  {{ return(adapter.dispatch('staging_materialization', 'memberflow')()) }}
{%- endmacro %}

{% macro default__staging_materialization() -%}
  {{ return('table') }}
{%- endmacro %}

{% macro duckdb__staging_materialization() -%}
  {{ return('incremental') }}
{%- endmacro %}


{#- The D this model's existing table holds, when the table can be brought forward to this
    build's D; none otherwise: no table yet, not incremental, a table of an unknown or later D,
    or one whose deliveries up to its D have changed since it was built (a file ingested late
    into an old delivery folder, an old day ingested again with other bytes). The comment keeps
    a digest of those deliveries (macro staged_deliveries_digest). -#}
{% macro staged_as_of(table_name) -%}
  {%- set held = this_table_held('staged') -%}
  {%- if held is not none and identity_logic(held[1]) == staged_state(table_name, held[0]) -%}
    {{ return(held[0]) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- What a table built from raw.<table_name> holds besides its D (its comment, after the D): the
    deliveries up to `through`. -#}
{% macro staged_state(table_name, through) -%}
  {{ return('deliveries ' ~ staged_deliveries_digest(table_name, through)) }}
{%- endmacro %}


{#- An md5 over every delivery of raw.<table_name> up to `through` (file name, day, sha256,
    load time) and the identifier key's fingerprint (the blocklist's hashes change with it): a
    file loaded late into an old day, an old day ingested again with other results, or a new
    HMAC key after a re-ingestion all change it. `table_name` may be a list of raw tables. -#}
{% macro staged_deliveries_digest(table_name, through) -%}
  {#- one query for all the tables asked for; a table built from several raw tables
      (int_identity__identifier_values) gets an md5 over each one's digest -#}
  {%- set names = [table_name] if table_name is string else table_name -%}
  {%- set found = run_query(
      "select raw_table, coalesce(md5(string_agg(file_name || '|' || cast(delivery_date as varchar) || '|' || "
      ~ "coalesce(sha256, '') || '|' || coalesce(loaded_at, ''), ',' order by file_name, delivery_date)), '') from "
      ~ ref('base_raw__deliveries') ~ " where raw_table in ('" ~ names | join("', '") ~ "') and delivery_date <= cast('"
      ~ through ~ "' as date) group by raw_table") -%}
  {%- set by_table = {} -%}
  {%- for row in found.rows %}{% do by_table.update({row[0]: row[1]}) %}{% endfor -%}
  {%- set digests = [] -%}
  {%- for name in names -%}
    {%- do digests.append(local_md5(by_table.get(name, '') ~ '|' ~ tojson(cfg('blocklist') or []))) -%}
  {%- endfor -%}
  {{ return(digests[0] if table_name is string else local_md5(digests | join('|'))) }}
{%- endmacro %}


{#- A base table: its config, and its SQL: the whole table, or what changed since the D it holds. -#}
{% macro staged_versions(table_name, key_columns) -%}
  {%- do config(
      materialized=staging_materialization(),
      incremental_strategy='delete+insert',
      unique_key=key_columns,
      on_schema_change='append_new_columns',
      pre_hook=["{{ kept_delta_drop() }}",
                "{{ staged_versions_reset('" ~ table_name ~ "') }}",
                "{{ staged_versions_prepare('" ~ table_name ~ "', " ~ tojson(key_columns) ~ ") }}"],
      post_hook=["{{ staged_versions_cleanup('" ~ table_name ~ "') }}",
                 "{{ staged_versions_mark('" ~ table_name ~ "') }}"],
  ) -%}
  {%- set since = staged_as_of(table_name) -%}
  {%- if since is none -%}
    {{ latest_raw_versions(table_name, key_columns) }}
  {%- else -%}
    {#- the rows to write, made by the pre-hook (which lists the rows they replace first) -#}
    select * from {{ staged_since_relation() }}
  {%- endif -%}
{%- endmacro %}


{#- The work table of a build brought forward: the rows it writes. -#}
{% macro staged_since_relation() -%}
  {{ return(this.incorporate(path={"identifier": this.identifier ~ "__since"})) }}
{%- endmacro %}


{#- Whether this build hands on a delta: brought forward from a table whose comment names the
    invocation that built it. -#}
{% macro staged_hands_on_delta(since) -%}
  {{ return(keeps_tables() and since is not none and kept_held_part('staged', 'run') is not none) }}
{%- endmacro %}


{#- Pre-hook: when brought forward, the rows to write (staged_versions_since) into the work table,
    and the delta's removed rows: those of the records they replace (dbt's delete+insert on the
    record key deletes exactly these). -#}
{% macro staged_versions_prepare(table_name, key_columns) -%}
  {%- set since = staged_as_of(table_name) if execute and is_incremental() else none -%}
  {%- if since is none -%}
    select 1
  {%- else -%}
    create or replace table {{ staged_since_relation() }} as
    {{ staged_versions_since(table_name, key_columns, since) }};
    {%- if staged_hands_on_delta(since) %}
    create table {{ kept_delta(this) }} as
    select t.line_uid, false as added
    from {{ this }} t
    where exists (
        select 1
        from {{ staged_since_relation() }} s
        where {% for k in key_columns %}s.{{ k }} = t.{{ k }}{{ " and " if not loop.last }}{% endfor %}
    );
    comment on table {{ kept_delta(this) }} is 'memberflow staged_delta as of {{ run_value("as_of_date") }} from {{ since }} run {{ kept_held_part("staged", "run") }}'
    {%- endif %}
  {%- endif -%}
{%- endmacro %}


{#- Files whose current delivery as of D is later than `since`: their rows replace whatever the
    table holds of them. -#}
{% macro staged_changed_files(table_name, since) -%}
  {%- set since_sql = "cast('" ~ since ~ "' as date)" -%}
  select file_name, delivery_date
  from ({{ current_deliveries(table_name,
          "file_name in (select file_name from (" ~ known_deliveries(table_name, 'delivery_date > ' ~ since_sql)
          ~ ") delivered_since_)") }}) current_
  where delivery_date > {{ since_sql }}
{%- endmacro %}


{% macro staged_versions_since(table_name, key_columns, since) -%}
  {%- set since_sql = "cast('" ~ since ~ "' as date)" -%}
  {%- set on_keys = [] -%}
  {%- for k in key_columns %}{% do on_keys.append('{a}.' ~ k ~ ' = {b}.' ~ k) %}{% endfor -%}
  with changed_files_ as (
      {{ staged_changed_files(table_name, since) }}
  ),

  new_rows_ as (
      select r.*, {{ line_uid(table_name, 'r', 'dr.day_file_rank') }} as line_uid
      from {{ raw_delivered_after(table_name, since) }} r
      inner join changed_files_ c
          on c.file_name = r.file_name
         and c.delivery_date = r.delivery_date
      inner join ({{ day_file_ranks(table_name, 'delivery_date > ' ~ since_sql) }}) dr
          on dr.file_name = r.file_name
         and dr.delivery_date = r.delivery_date
      where r.delivery_date > {{ since_sql }}
        and {{ key_not_null(key_columns, 'r') }}
  ),

  orphaned_keys_ as (
      {#- kept versions in a file delivered again with other content, not covered by a new row -#}
      select distinct {% for k in key_columns %}t.{{ k }}{{ ", " if not loop.last }}{% endfor %}
      from {{ this }} t
      inner join changed_files_ c
          on c.file_name = t.file_name
      left join new_rows_ n
          on {{ on_keys | join(' and ') | replace('{a}', 'n') | replace('{b}', 't') }}
      where n.line_uid is null
  ),

  fallback_candidates_ as (
      {#- their other versions: rows of files not delivered again since -#}
      select r.*
      from {{ source('raw', table_name) }} r
      inner join orphaned_keys_ o
          on {{ on_keys | join(' and ') | replace('{a}', 'o') | replace('{b}', 'r') }}
      where r.delivery_date <= {{ as_of_date() }}
        and r.file_name not in (select file_name from changed_files_)
  ),

  fallback_rows_ as (
      select f.*, {{ line_uid(table_name, 'f', 'dr.day_file_rank') }} as line_uid
      from fallback_candidates_ f
      inner join ({{ current_deliveries(table_name, 'file_name in (select file_name from fallback_candidates_)') }}) cd
          on cd.file_name = f.file_name
         and cd.delivery_date = f.delivery_date
      inner join ({{ day_file_ranks(table_name, 'delivery_date in (select delivery_date from fallback_candidates_)') }}) dr
          on dr.file_name = f.file_name
         and dr.delivery_date = f.delivery_date
  ),

  candidates_ as (
      select * from new_rows_
      union all
      select * from fallback_rows_
  ),

  latest_ as (
      select {% for k in key_columns %}{{ k }}, {% endfor %}max(line_uid) as line_uid
      from candidates_
      group by {% for k in key_columns %}{{ k }}{{ ", " if not loop.last }}{% endfor %}
  )

  select c_.*
  from candidates_ c_
  inner join latest_ l_
      on l_.line_uid = c_.line_uid
{%- endmacro %}


{#- Pre-hook: empty a table that cannot be brought forward, so that the full build refills it. -#}
{% macro staged_versions_reset(table_name) -%}
  {%- if execute and is_incremental() and staged_as_of(table_name) is none -%}
    delete from {{ this }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Post-hook: drop the records of re-delivered files that no current version holds; the delta
    gets them (removed) and the rows written (added); the work table goes. The re-delivered
    files are listed once (a temporary table), for the delta and the delete. -#}
{% macro staged_versions_cleanup(table_name) -%}
  {%- set since = staged_as_of(table_name) if execute and is_incremental() else none -%}
  {%- if since is none -%}
    {%- if keeps_tables() %}
    drop table if exists {{ staged_since_relation() }}
    {%- else -%}
    select 1
    {%- endif -%}
  {%- else -%}
    {%- set delta = staged_hands_on_delta(since) -%}
    {%- set changed_files = this.identifier ~ '__changed_files' -%}
    create or replace temporary table {{ changed_files }} as
    {{ staged_changed_files(table_name, since) }};
    {%- if delta %}
    insert into {{ kept_delta(this) }}
    select t.line_uid, false as added
    from {{ this }} t
    inner join {{ changed_files }} c
        on t.file_name = c.file_name
       and t.delivery_date < c.delivery_date;
    {%- endif %}
    delete from {{ this }} t
    using {{ changed_files }} c
    where t.file_name = c.file_name
      and t.delivery_date < c.delivery_date;
    drop table {{ changed_files }};
    {%- if delta %}
    insert into {{ kept_delta(this) }}
    select line_uid, true as added
    from {{ staged_since_relation() }};
    {%- endif %}
    drop table if exists {{ staged_since_relation() }}
  {%- endif -%}
{%- endmacro %}


{#- Post-hook: record the D this table now holds, the deliveries it was built from and the
    invocation that built it. -#}
{% macro staged_versions_mark(table_name) -%}
  {{ kept_mark('staged', (staged_state(table_name, run_value('as_of_date')) ~ ' run ' ~ invocation_id) if keeps_tables() else '') }}
{%- endmacro %}


{#- The rows of a staging model (`relation`, on a base table kept as above) that a build may have
    changed since `since` according to the base table's `delta`: a line_uid in the delta, or a
    row the staging view's filter let in since (staged_dated_since). -#}
{% macro staged_rows_since(delta, since) -%}
  (line_uid in (select line_uid from {{ delta }}) or {{ staged_dated_since(since) }})
{%- endmacro %}


{#- The rows of a staging model that its view's filter (business date not after D) let in after
    `since`: those whose business date is later. -#}
{% macro staged_dated_since(since) -%}
  business_date > cast('{{ since }}' as date)
{%- endmacro %}


{#- since_last_pass `rows` for a data test of a staging model keyed by `key` (its meta): the rows
    of every key a row of the base table (`table`) may have changed since the test passed
    (staged_rows_since), so that a unique test sees each such key's every row. -#}
{% macro staged_keys_since(found) -%}
  {%- set scope = config.get('meta')['since_last_pass'] -%}
  {{ return(scope['key'] ~ ' in (select ' ~ scope['key'] ~ ' from ' ~ since_last_pass_relation(scope['table'])
            ~ ' where ' ~ staged_rows_since(found[0], found[1]) ~ ')') }}
{%- endmacro %}
