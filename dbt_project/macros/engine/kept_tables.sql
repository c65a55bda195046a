{#- The kept tables: tables that a build on DuckDB brings forward from the D they hold instead of
    rebuilding them (the staging base tables, macros/staging/staged_versions.sql; the order
    lines, macros/orders/kept_lines.sql; the orders, macros/orders/kept_orders.sql; the persons'
    order totals, macros/facts/kept_member_totals.sql; the OneID graph has its own,
    macros/identity/kept_identity.sql). A table's comment says what it holds (kept_mark, read
    back by this_table_held: its D, what it was built from, and for the lines, orders and totals
    the dbt invocation that built it); the lines, orders and totals also list, in a pre-hook,
    the keys a build recomputes in the relation <table>__changed (kept_changed_relation), remove
    them (kept_reset) and drop the list after the build (kept_drop_changed). The lines and the
    orders hand on what they recomputed (the deltas, below). On other engines they are plain
    tables, rebuilt whole. -#}

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


{#- Deltas: a kept table may hand on what a build changed, in the relation <table>__delta: the
    rows of every key it recomputed as they were (added false, written by kept_delta_create
    before kept_reset deletes them) and as they are (added true, kept_delta_finish), with the
    columns a later model needs. The delta's comment says what it is a change from: "memberflow
    <kind>_delta as of D from D0 run <invocation>" (the table as of D0 and the dbt invocation
    that built it). A model that records having read that very table (kept_read_mark: its D0 and
    that invocation) may bring itself forward by the delta (kept_delta_from); a table rebuilt
    whole hands on none. The tables kept by person hand on only the persons they recomputed, one
    one_id a row (kept_person_delta_create, macros/facts/kept_by_person.sql). -#}

{% macro kept_delta(relation) -%}
  {{ return(relation.incorporate(path={"identifier": relation.identifier ~ "__delta"})) }}
{%- endmacro %}


{#- Pre-hook (first): drop the last build's delta. -#}
{% macro kept_delta_drop() -%}
  {%- if keeps_tables() -%}
    drop table if exists {{ kept_delta(this) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Pre-hook (before kept_reset): the delta with the recomputed keys' rows as they were, and what
    it is a change from (the table's D0 `since` and the invocation its comment names). -#}
{% macro kept_delta_create(since, kind, key, columns) -%}
  {%- if keeps_tables() and is_incremental() and since is not none -%}
    create table {{ kept_delta(this) }} as
    select {{ columns | join(', ') }}, false as added
    from {{ this }}
    where {{ key }} in (select {{ key }} from {{ kept_changed_relation() }});
    comment on table {{ kept_delta(this) }} is 'memberflow {{ kind }}_delta as of {{ run_value("as_of_date") }} from {{ since }} run {{ kept_held_part(kind, "run") }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Post-hook (before kept_drop_changed): the recomputed keys' rows as they are now. -#}
{% macro kept_delta_finish(since, key, columns) -%}
  {%- if keeps_tables() and is_incremental() and since is not none -%}
    insert into {{ kept_delta(this) }}
    select {{ columns | join(', ') }}, true as added
    from {{ this }}
    where {{ key }} in (select {{ key }} from {{ kept_changed_relation() }})
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- For a model kept on the kept table `relation` (of `kind`): whether its delta is a change
    from that table as of `since` built by the invocation `run` to this build's D. `since` is
    the model's own D0 and `run` the build of `relation` it last read (kept_read_mark), so the
    delta starts from the very rows the model was built from. -#}
{% macro kept_delta_from(relation, kind, since, run) -%}
  {%- if not keeps_tables() or since is none or not run -%}
    {{ return(false) }}
  {%- endif -%}
  {{ return(table_held(kept_delta(relation), kind ~ '_delta')
            == [run_value('as_of_date'), 'from ' ~ since ~ ' run ' ~ run]) }}
{%- endmacro %}


{#- What this model's kept table holds (this_table_held), its state cut before " run ": what it
    was built from, without the builds that made it and that it read. -#}
{% macro kept_held_before_run(kind) -%}
  {%- set held = this_table_held(kind) -%}
  {{ return([held[0], identity_logic(held[1])] if held is not none else none) }}
{%- endmacro %}


{#- The word after `key` in this model's kept table's comment (of `kind`): "run" the invocation
    that built it, or the name a kept_read_mark gave a table it read; none when not kept or not
    recorded. -#}
{% macro kept_held_part(kind, key) -%}
  {%- set held = this_table_held(kind) -%}
  {{ return(identity_state_part(held[1], key) if held is not none else none) }}
{%- endmacro %}


{#- For a model's comment: "<name> <invocation>", the build of the kept table `relation` (of
    `kind`) it read in this build (as that table's comment says now). -#}
{% macro kept_read_mark(name, relation, kind) -%}
  {%- set held = table_held(relation, kind) -%}
  {{ return(name ~ ' ' ~ (identity_state_part(held[1], 'run') if held is not none else 'none')) }}
{%- endmacro %}
