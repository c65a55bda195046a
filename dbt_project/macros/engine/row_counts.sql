{#- What Dagster shows of a table dbt just built, in dbt's log: its row count and, for the marts
    marketing and BI look at first, small distributions.

    A project post-hook (dbt_project.yml) run outside the model's transaction, so after its own
    post-hooks and its commit: the figures are the table's as it stays. It logs one line
    "memberflow row_count <unique_id> <rows>" and one "memberflow distribution <unique_id>
    <label> <json>" per distribution, which the dbt step (assets/dbt.py) reads from dbt's event
    stream and gives the asset's materialization as metadata (`dagster/row_count`, `<label>`).
    So the materializations and check results are stored while dbt runs: the warehouse file is
    dbt's until it exits, and Dagster could not read the figures itself before that.

    Only when the dbt step asks for it (MEMBERFLOW_ROW_COUNTS set), and only on DuckDB: views
    are not counted (counting one runs it), and on Spark a count starts jobs. Renders nothing,
    so dbt runs no statement for the hook itself. -#}
{% macro log_dagster_metadata() -%}
  {%- if execute and target.type == 'duckdb' and env_var('MEMBERFLOW_ROW_COUNTS', '') == '1'
        and config.get('materialized') != 'view' -%}
    {%- set result = run_query('select count(*) from ' ~ this) -%}
    {%- do log('memberflow row_count ' ~ model.unique_id ~ ' ' ~ result.columns[0].values()[0], info=True) -%}
    {%- for label, query in dagster_distributions(model.name).items() -%}
      {%- set counts = {} -%}
      {%- for row in run_query(query.replace('__this__', this | string)).rows -%}
        {%- do counts.update({row[0] | string: row[1] | int}) -%}
      {%- endfor -%}
      {%- do log('memberflow distribution ' ~ model.unique_id ~ ' ' ~ label ~ ' ' ~ tojson(counts), info=True) -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}


{#- label → query (value, count; __this__ is the table) of the distributions shown beside a
    model's row count. audience_rows_in_run: the rows of this run's audience days (the first
    audience day to D, macro run_value). -#}
{% macro dagster_distributions(name) -%}
  {%- set days = "cast('" ~ (run_value('audience_from') or run_value('as_of_date')) ~ "' as date) and " ~ as_of_date() -%}
  {{ return({
      'member_facts': {
          'lifecycle': 'select lifecycle, count(*) from __this__ group by 1',
          'rfm_segment': "select coalesce(rfm_segment, '(no orders in 365 days)'), count(*) from __this__ group by 1",
      },
      'member_tiers': {
          'tier': 'select tier, count(*) from __this__ group by 1',
          'downgrade_risk': 'select cast(downgrade_risk as varchar), count(*) from __this__ group by 1',
      },
      'audience_members': {
          'audience_rows_in_run': 'select audience, count(*) from __this__ where as_of_date between ' ~ days ~ ' group by 1',
      },
  }.get(name, {})) }}
{%- endmacro %}


{#- dbt's run_hooks (dbt-adapters' global project, dbt-core 1.11), with one change: the `commit;`
    dbt runs before the first hook outside the model's transaction comes only before a hook that
    renders SQL. log_dagster_metadata runs outside the transaction (after the model's own
    post-hooks and its commit) and renders nothing: dbt's statement would be one more per model
    on DuckDB, where the materialization has committed already, and an error on Spark, whose
    SQL has no COMMIT (dbt-spark, method session). -#}
{% macro run_hooks(hooks, inside_transaction=True) %}
  {%- set committed = [] -%}
  {% for hook in hooks | selectattr('transaction', 'equalto', inside_transaction) %}
    {% set rendered = render(hook.get('sql')) | trim %}
    {% if (rendered | length) > 0 %}
      {% if not inside_transaction and not committed %}
        {% call statement(auto_begin=inside_transaction) %}
          commit;
        {% endcall %}
        {% do committed.append(true) %}
      {% endif %}
      {% call statement(auto_begin=inside_transaction) %}
        {{ rendered }}
      {% endcall %}
    {% endif %}
  {% endfor %}
{% endmacro %}
