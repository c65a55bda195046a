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


{#- The relation of the kept table a test's since_last_pass names (from dbt's graph). -#}
{% macro since_last_pass_table(scope) -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type == 'model' and node.name == scope['table'] -%}
      {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("since_last_pass names no model " ~ scope['table']) }}
{%- endmacro %}


{#- The build of its kept table a test would be recorded against now: the invocation that the
    table's comment names (none when the table holds no such comment). -#}
{% macro since_last_pass_run(scope) -%}
  {%- set held = table_held(since_last_pass_table(scope), scope['kind']) -%}
  {{ return(identity_state_part(held[1], 'run') if held is not none else none) }}
{%- endmacro %}


{#- The test's where condition: its rows whose key is in the kept table's delta, when the delta
    starts from the build of the table on which this test last passed; none (every row)
    otherwise. -#}
{% macro changed_since_last_pass() -%}
  {%- set scope = (config.get('meta') or {}).get('since_last_pass') -%}
  {%- if scope is none -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": where __changed_since_last_pass__ needs meta since_last_pass") }}
  {%- endif -%}
  {%- if not keeps_tables() or flags.FULL_REFRESH -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set table = since_last_pass_table(scope) -%}
  {%- set held = table_held(table, scope['kind']) -%}
  {%- set delta = table_held(kept_delta(table), scope['kind'] ~ '_delta') -%}
  {%- if held is none or delta is none or delta[0] != held[0] -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set from_run = identity_state_part(delta[1], 'run') -%}
  {%- if not from_run or not adapter.get_relation(database=target.database, schema='main', identifier='data_test_passes') -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set passed = run_query("select count(*) from main.data_test_passes where test_id = '"
        ~ model.unique_id ~ "' and kept_run = '" ~ from_run ~ "'") -%}
  {%- if passed.columns[0].values()[0] == 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(scope['key'] ~ ' in (select ' ~ scope['key'] ~ ' from ' ~ kept_delta(table) ~ ')') }}
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
