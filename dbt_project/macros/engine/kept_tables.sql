{#- The kept tables: tables that a build on DuckDB brings forward from the D they hold instead of
    rebuilding them (the staging base tables, macros/staging/staged_versions.sql; the orders,
    macros/orders/kept_orders.sql; the persons' order totals, macros/facts/kept_member_totals.sql).
    A table's comment says what it holds (kept_mark, read back by this_table_held); the orders and
    the totals also list, in a pre-hook, the keys a build recomputes in the relation
    <table>__changed (kept_changed_relation), remove them (kept_reset) and drop the list after
    the build (kept_drop_changed). On other engines they are plain tables, rebuilt whole. -#}

{#- What the kept table `relation` says it holds, from the comment kept_mark set ("memberflow
    <kind> as of YYYY-MM-DD <state>"): [D, state]; none when it has no such comment. -#}
{% macro table_held(relation, kind) -%}
  {%- set found = run_query(
      "select comment from duckdb_tables() where database_name = '" ~ relation.database
      ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
  {%- set comment = found.columns[0].values()[0] if found.rows | length > 0 else none -%}
  {%- set prefix = 'memberflow ' ~ kind ~ ' as of ' -%}
  {%- if comment and comment.startswith(prefix) -%}
    {%- set parts = comment[prefix | length:].split(' ', 1) -%}
    {%- if parts | length == 2 -%}
      {{ return(parts) }}
    {%- endif -%}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- What this model's existing DuckDB table holds (table_held) when that D is not later than this
    build's; none otherwise (no table, not incremental, no such comment, a later D). Each kind
    checks `state` itself: the staging tables (`staged`) their deliveries, the orders (`orders`)
    their deliveries and logic, the member totals (`member_totals`) their logic. -#}
{% macro this_table_held(kind) -%}
  {%- if not execute or not is_incremental() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set held = table_held(this, kind) -%}
  {%- if held is not none and held[0] <= run_value('as_of_date') -%}
    {{ return(held) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- For a model that reads the kept table `relation` (of `kind`): a clear error, before the model
    runs, when that table does not hold this build's D, instead of a result as of another day (it
    was not built in this run: `dbt run --select member_facts` alone for another D). Checked where
    the tables are kept (DuckDB), not in unit tests (their inputs are fixtures). -#}
{% macro require_kept_as_of(relation, kind) -%}
  {%- if keeps_tables() and model.resource_type != 'unit_test' -%}
    {%- set held = table_held(relation, kind) -%}
    {%- if held is none or held[0] != run_value('as_of_date') -%}
      {{ exceptions.raise_compiler_error(
          relation.identifier ~ " holds " ~ (("as of " ~ held[0]) if held is not none else "no known day")
          ~ ", not this build's " ~ run_value('as_of_date') ~ ": build it in the same run as " ~ model.name
          ~ " (select +" ~ model.name ~ ", or " ~ relation.identifier ~ " " ~ model.name ~ ")") }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}


{#- Whether this build keeps its tables (DuckDB, at execution): the condition under which a
    kept_mark's state is computed (the digests query DuckDB's catalog and functions). -#}
{% macro keeps_tables() -%}
  {{ return(execute and staging_materialization() == 'incremental') }}
{%- endmacro %}


{#- Post-hook: record in the table's comment the D it now holds and `state` (DuckDB; nothing
    elsewhere). -#}
{% macro kept_mark(kind, state) -%}
  {{ return(adapter.dispatch('kept_mark', 'memberflow')(kind, state)) }}
{%- endmacro %}

{% macro default__kept_mark(kind, state) -%}
  select 1
{%- endmacro %}

{% macro duckdb__kept_mark(kind, state) -%}
  comment on table {{ this }} is 'memberflow {{ kind }} as of {{ run_value("as_of_date") }} {{ state }}'
{%- endmacro %}


{#- The relation holding the keys this build recomputes (made by the model's first pre-hook). -#}
{% macro kept_changed_relation() -%}
  {{ return(this.incorporate(path={"identifier": this.identifier ~ "__changed"})) }}
{%- endmacro %}


{#- Pre-hook: remove what is recomputed: the rows whose `key` is listed, or every row when
    `held` (the D the table can be brought forward from) is none. -#}
{% macro kept_reset(held, key) -%}
  {{ return(kept_reset_where(held, key ~ ' in (select ' ~ key ~ ' from ' ~ kept_changed_relation() ~ ')')) }}
{%- endmacro %}


{#- Pre-hook: remove the rows `where` selects, or every row when `held` is none. -#}
{% macro kept_reset_where(held, where) -%}
  {%- if execute and is_incremental() -%}
    {%- if held is none -%}
      delete from {{ this }}
    {%- else -%}
      delete from {{ this }} where {{ where }}
    {%- endif -%}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Post-hook: drop the list of keys recomputed. -#}
{% macro kept_drop_changed() -%}
  {%- if execute and is_incremental() -%}
    drop table if exists {{ kept_changed_relation() }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
