{#- Connected components of an undirected graph on integer node ids, in SQL (SPEC §4).

    Materialization `connected_components`: the model's SQL selects the edges as two integer
    columns `src, dst` (a row (n, n) makes an isolated node n part of the output). The table
    built is (node_id, component_id): component_id is the smallest node id of the component.

    Algorithm: hook-and-contract. Each round, every node that has a smaller neighbour hooks to
    its smallest neighbour; the hooks form a forest whose trees are flattened by pointer jumping
    (parent := parent of parent, O(log depth) steps); every edge is then rewritten to the roots
    of its ends and self-loops and duplicates are dropped. Each round merges every node that has a
    smaller neighbour into a smaller root, so the edge set shrinks fast (measured: 3 rounds on the
    identity graph of 10 M orders, 13 on a 10 M-edge graph holding a 1 M-node path with shuffled
    ids); a graph that is not done after 256 rounds fails the model. The hooks of every round
    are kept; flattening their union gives each node its root.

    Each step is a `create table as` on work tables: on DuckDB they are temporary tables (in
    memory, no catalog or WAL churn), elsewhere ordinary tables next to the model, dropped at the
    end. Everything else is portable SQL (group by, left join, least/greatest). -#}

{% macro cc_work_relation(name) -%}
  {{ return(adapter.dispatch('cc_work_relation', 'memberflow')(name)) }}
{%- endmacro %}

{% macro default__cc_work_relation(name) -%}
  {{ return(api.Relation.create(database=this.database, schema=this.schema,
                                identifier=this.identifier ~ '__cc_' ~ name, type='table')) }}
{%- endmacro %}

{% macro duckdb__cc_work_relation(name) -%}
  {{ return(api.Relation.create(identifier=this.identifier ~ '__cc_' ~ name, type='table')) }}
{%- endmacro %}


{% macro cc_create(relation, sql) -%}
  {{ return(adapter.dispatch('cc_create', 'memberflow')(relation, sql)) }}
{%- endmacro %}

{% macro default__cc_create(relation, sql) -%}
  {% do adapter.drop_relation(relation) %}
  {% do run_query(get_create_table_as_sql(False, relation, sql)) %}
{%- endmacro %}

{% macro duckdb__cc_create(relation, sql) -%}
  {% do run_query('create or replace temp table ' ~ relation.identifier ~ ' as ' ~ sql) %}
{%- endmacro %}


{% macro cc_drop(relation) -%}
  {{ return(adapter.dispatch('cc_drop', 'memberflow')(relation)) }}
{%- endmacro %}

{% macro default__cc_drop(relation) -%}
  {% do adapter.drop_relation(relation) %}
{%- endmacro %}

{% macro duckdb__cc_drop(relation) -%}
  {% do run_query('drop table if exists ' ~ relation.identifier) %}
{%- endmacro %}


{#- target := source (the columns listed); source is consumed. -#}
{% macro cc_replace(target, source, columns) -%}
  {{ return(adapter.dispatch('cc_replace', 'memberflow')(target, source, columns)) }}
{%- endmacro %}

{% macro default__cc_replace(target, source, columns) -%}
  {% do cc_create(target, 'select ' ~ columns ~ ' from ' ~ source) %}
{%- endmacro %}

{% macro duckdb__cc_replace(target, source, columns) -%}
  {% do run_query('drop table if exists ' ~ target.identifier) %}
  {% do run_query('alter table ' ~ source.identifier ~ ' rename to ' ~ target.identifier) %}
{%- endmacro %}


{% macro cc_scalar(sql) -%}
  {%- set result = run_query(sql) -%}
  {{ return(result.columns[0].values()[0] | int) }}
{%- endmacro %}


{#- Flatten a forest (node, parent) with parent < node in place: parent := root. Each step moves
    every node to its grandparent (pointer jumping), so log2(depth) steps suffice. -#}
{% macro cc_flatten(forest, scratch) -%}
  {%- for step in range(64) -%}
    {% do cc_create(scratch,
        'select f.node, coalesce(g.parent, f.parent) as parent, '
        ~ 'case when g.parent is null then 0 else 1 end as moved from ' ~ forest ~ ' f left join '
        ~ forest ~ ' g on g.node = f.parent') %}
    {%- if cc_scalar('select count(*) from ' ~ scratch ~ ' where moved = 1') == 0 -%}
      {{ return(step) }}
    {%- endif -%}
    {% do cc_replace(forest, scratch, 'node, parent') %}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error('connected components: pointer jumping did not converge') }}
{%- endmacro %}


{#- Run the rounds; return the SQL that selects (node_id, component_id) from the work tables. -#}
{% macro cc_run(edges_sql) -%}
  {%- set input = cc_work_relation('input') -%}
  {%- set edges = cc_work_relation('edges') -%}
  {%- set hooks = cc_work_relation('hooks') -%}
  {%- set forest = cc_work_relation('forest') -%}
  {%- set scratch = cc_work_relation('scratch') -%}
  {%- set int_type = dbt.type_bigint() -%}

  {% do cc_create(input, 'select cast(src as ' ~ int_type ~ ') as src, cast(dst as ' ~ int_type
                         ~ ') as dst from (' ~ edges_sql ~ ') model_edges') %}
  {% do cc_create(edges, 'select distinct least(src, dst) as a, greatest(src, dst) as b from '
                         ~ input ~ ' where src <> dst') %}
  {% do cc_create(forest, 'select cast(null as ' ~ int_type ~ ') as node, cast(null as '
                          ~ int_type ~ ') as parent from ' ~ input ~ ' where 1 = 0') %}

  {%- set ns = namespace(rounds=0, remaining=cc_scalar('select count(*) from ' ~ edges)) -%}
  {%- for round in range(256) if ns.remaining > 0 -%}
    {%- set ns.rounds = ns.rounds + 1 -%}
    {#- hook: every node with a smaller neighbour points to its smallest neighbour -#}
    {% do cc_create(hooks, 'select b as node, min(a) as parent from ' ~ edges ~ ' group by b') %}
    {% do cc_flatten(hooks, scratch) %}
    {% do run_query('insert into ' ~ forest ~ ' (node, parent) select node, parent from ' ~ hooks) %}
    {#- contract: edges between roots only -#}
    {% do cc_create(scratch,
        'select distinct least(x, y) as a, greatest(x, y) as b from (select coalesce(ha.parent, e.a) as x, '
        ~ 'coalesce(hb.parent, e.b) as y from ' ~ edges ~ ' e left join ' ~ hooks ~ ' ha on ha.node = e.a '
        ~ 'left join ' ~ hooks ~ ' hb on hb.node = e.b) contracted where x <> y') %}
    {% do cc_replace(edges, scratch, 'a, b') %}
    {%- set ns.remaining = cc_scalar('select count(*) from ' ~ edges) -%}
  {%- endfor -%}
  {%- if ns.remaining > 0 -%}
    {{ exceptions.raise_compiler_error('connected components did not converge in 256 rounds') }}
  {%- endif -%}
  {% do cc_flatten(forest, scratch) %}
  {{ log('connected components: ' ~ ns.rounds ~ ' contraction rounds', info=False) }}

  {{ return('select nodes.node as node_id, coalesce(forest.parent, nodes.node) as component_id from ('
            ~ 'select src as node from ' ~ input ~ ' union select dst as node from ' ~ input
            ~ ') nodes left join ' ~ forest ~ ' forest on forest.node = nodes.node') }}
{%- endmacro %}


{% macro cc_cleanup() -%}
  {%- for name in ['input', 'edges', 'hooks', 'forest', 'scratch'] -%}
    {% do cc_drop(cc_work_relation(name)) %}
  {%- endfor -%}
{%- endmacro %}


{% materialization connected_components, default %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set result_sql = cc_run(compiled_code) -%}

  {#- a kept table (config kept_where: a macro naming the rows this build recomputes, none when
      the table is rebuilt whole): those rows are replaced by the components of the model's
      edges, which must hold every edge of those nodes -#}
  {%- set kept_where = context[config.get('kept_where')]() if config.get('kept_where') and existing_relation is not none else none -%}
  {% if kept_where is not none %}
    {% call statement('main') -%}
      delete from {{ target_relation }} where {{ kept_where }};
      insert into {{ target_relation }} (node_id, component_id) {{ result_sql }}
    {%- endcall %}
  {% else %}
    {% if existing_relation is not none %}
      {% do adapter.drop_relation(existing_relation) %}
    {% endif %}
    {% call statement('main') -%}
      {{ get_create_table_as_sql(False, target_relation, result_sql) }}
    {%- endcall %}
  {% endif %}
  {% do cc_cleanup() %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
