{#- Data tests on a kept table, run on what changed since they last passed (DuckDB).

    A daily build brings the kept tables forward by a delta (macros/engine/kept_tables.sql):
    every row outside the delta is the row the table held before. A test of a property of rows
    and their keys (unique, not null, accepted values) that passed on that earlier table can
    fail now only on the delta's keys. Such a test says so in its config:

        - unique:
            config:
              where: __changed_since_last_pass__
              meta: {since_last_pass: {table: int_orders__unified, kind: orders, key: order_key}}

    `table` is the kept table under the tested model (the model itself or a view on it), `kind`
    its kept_mark kind, `key` a column of both the tested model and the table's delta. The test
    then reads only the rows whose `key` is in the delta, when the delta starts from the very
    build of `table` on which this test last passed (main.data_test_passes, written at the end
    of each dbt invocation by record_test_passes). Otherwise, and on other engines, it reads
    every row, as dbt's own tests do. A test that fails, errors or warns loses its record, so the
    next build tests every row again.

    More options; the first two for tests whose result also depends on the one_ids:
    - `registry: true`: the record also names the registry build the one_ids came from
      (int_identity__one_id_current), and the test narrows only when the registry was brought
      forward from it (then the identifiers with another one_id are those with a registry row
      after the delta's D0); never on a rerun of the same D;
    - `persons: true` (with registry): also the rows of a one_id that an identifier left after
      D0 (the registry's previous_one_id) or that is deleted (orders.one_id in the OneID map).
    - `rows: <macro>`: when a build rewrites more rows than its delta lists, the macro gives the
      condition for the rows it rewrote instead of `key` in the delta (called with
      since_last_pass_delta's [delta, D0]; the centres: identity_centers_recomputed_rows).
    A singular test narrows itself with since_last_pass_delta (one person per record,
    tests/identity/assert_each_record_has_one_person.sql).

    What this trusts: only dbt builds write the kept tables. A row changed by hand outside the
    delta is seen by the next test of every row: after a failed test, a --full-refresh build
    (which hands on no delta), or once main.data_test_passes is emptied. -#}

{#- dbt's where config, with one more value: __changed_since_last_pass__ (above). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__changed_since_last_pass__' -%}
        {%- set where = changed_since_last_pass() -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- A model's relation by name (from dbt's graph: a test need not ref every model it checks). -#}
{% macro since_last_pass_relation(name) -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type == 'model' and node.name == name -%}
      {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("since_last_pass names no model " ~ name) }}
{%- endmacro %}


{#- The build a test would be recorded against now: the invocation its kept table's comment
    names, and with `registry`, also the build of the registry the one_ids come from
    (int_identity__one_id_current's comment). None when not known. -#}
{% macro since_last_pass_run(scope) -%}
  {%- set held = table_held(since_last_pass_relation(scope['table']), scope['kind']) -%}
  {%- set run = identity_state_part(held[1], 'run') if held is not none else none -%}
  {%- if run and scope.get('registry') -%}
    {%- set registry = one_id_current_registry(since_last_pass_relation('int_identity__one_id_current')) -%}
    {{ return((run ~ ' registry ' ~ registry) if registry else none) }}
  {%- endif -%}
  {{ return(run) }}
{%- endmacro %}


{#- [the kept table's delta, its D0] when the delta starts from the build on which this test last
    passed; none otherwise (the test reads every row). With `registry`: also only when the
    registry was brought forward from the one the one_ids came from then ("after <D0> prev
    <that build>") and int_identity__one_id_current was built from it as it is now, so that the
    identifiers with another one_id since are those with a registry row after D0; not on a rerun
    of the same D (the registry then rewrites D's own rows). -#}
{% macro since_last_pass_delta() -%}
  {%- set scope = (config.get('meta') or {}).get('since_last_pass') -%}
  {%- if scope is none -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": no meta since_last_pass") }}
  {%- endif -%}
  {%- if not keeps_tables() or flags.FULL_REFRESH -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set table = since_last_pass_relation(scope['table']) -%}
  {%- set held = table_held(table, scope['kind']) -%}
  {%- set delta = table_held(kept_delta(table), scope['kind'] ~ '_delta') -%}
  {%- if held is none or delta is none or delta[0] != held[0] -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set since = identity_state_part(delta[1], 'from') -%}
  {%- set from_run = identity_state_part(delta[1], 'run') -%}
  {%- if not from_run or not adapter.get_relation(database=target.database, schema='main', identifier='data_test_passes') -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set passed = run_query("select kept_run from main.data_test_passes where test_id = '" ~ model.unique_id ~ "'") -%}
  {%- set recorded = passed.columns[0].values()[0] if passed.rows | length > 0 else none -%}
  {%- set registry_run = identity_state_part(recorded, 'registry') if scope.get('registry') else none -%}
  {%- if recorded is none or recorded != (from_run ~ (' registry ' ~ registry_run if registry_run else '')) -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if scope.get('registry')
         and not one_ids_changed_only_after(since, registry_run, held[0],
                                            since_last_pass_relation('one_id_registry'),
                                            since_last_pass_relation('int_identity__one_id_current')) -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return([kept_delta(table), since]) }}
{%- endmacro %}


{#- The test's where condition: its rows whose key is in the kept table's delta, when
    since_last_pass_delta gives one; none (every row) otherwise. With `persons` (and
    `registry`), also the rows of a one_id that an identifier left after the delta's D0 (the
    registry's previous_one_id) or that is deleted: a one_id can leave the OneID map only so. -#}
{% macro changed_since_last_pass() -%}
  {%- set found = since_last_pass_delta() -%}
  {%- if found is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set scope = config.get('meta')['since_last_pass'] -%}
  {%- if scope.get('rows') -%}
    {%- set where = context[scope['rows']](found) -%}
  {%- else -%}
    {%- set where = scope['key'] ~ ' in (select ' ~ scope['key'] ~ ' from ' ~ found[0] ~ ')' -%}
  {%- endif -%}
  {%- if scope.get('persons') -%}
    {%- set where = '(' ~ where ~ ' or one_id in (select previous_one_id from '
          ~ since_last_pass_relation('one_id_registry') ~ " where valid_from > cast('" ~ found[1]
          ~ "' as date) union select one_id from " ~ since_last_pass_relation('deleted_persons') ~ '))' -%}
  {%- endif -%}
  {{ return(where) }}
{%- endmacro %}


{#- on-run-end: for each test of this invocation that has a since_last_pass, record the build of
    its kept table it passed on, or forget it when it did not pass. -#}
{% macro record_test_passes(results) -%}
  {%- if not keeps_tables() -%}
    select 1
  {%- else -%}
    {%- set statements = ["create table if not exists main.data_test_passes (test_id varchar, kept_run varchar, passed_at timestamp)"] -%}
    {%- for result in results -%}
      {%- set node = result.node -%}
      {%- set scope = (node.config.meta or {}).get('since_last_pass') if node.resource_type == 'test' else none -%}
      {%- if scope is not none -%}
        {%- do statements.append("delete from main.data_test_passes where test_id = '" ~ node.unique_id ~ "'") -%}
        {%- set run = since_last_pass_run(scope) if result.status == 'pass' else none -%}
        {%- if run -%}
          {%- do statements.append("insert into main.data_test_passes values ('" ~ node.unique_id ~ "', '" ~ run ~ "', current_timestamp)") -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
    {{ statements | join(';\n') }}
  {%- endif -%}
{%- endmacro %}
