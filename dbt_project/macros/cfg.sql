{#- cfg(name): a business rule from memberflow.yaml, passed by memberflow as the `memberflow` var.
    dbt run by hand needs the same vars: `memberflow dbt -- <dbt args>` passes them. -#}
{% macro cfg(name) %}
  {%- set rules = var('memberflow', {}) -%}
  {%- if name in rules -%}
    {{ return(rules[name]) }}
  {%- elif execute -%}
    {{ exceptions.raise_compiler_error("memberflow rule '" ~ name ~ "' is missing: run dbt through `memberflow dbt -- ...` so memberflow.yaml reaches dbt as --vars") }}
  {%- else -%}
    {{ return(none) }}
  {%- endif -%}
{% endmacro %}

{#- What changes from one build to the next, read at execution only: `as_of_date` (D),
    `audience_from` (the first day whose audiences the build computes) and `stores_path` (the
    store master CSV, empty for the seed). memberflow passes them as MEMBERFLOW_AS_OF_DATE,
    MEMBERFLOW_AUDIENCE_FROM and MEMBERFLOW_STORE_MASTER (orchestration/dbt_cli.py, run_env), not as
    vars: dbt re-parses the whole project when a var changes, and never reads an env var that is
    only read while `execute` is true. A value in the `memberflow` var wins (unit tests, a
    hand-run `dbt --vars`). -#}
{% macro run_value(name) %}
  {%- set rules = var('memberflow', {}) -%}
  {%- if rules.get(name) -%}
    {{ return(rules[name] | string) }}
  {%- elif execute -%}
    {{ return(env_var('MEMBERFLOW_' ~ {'as_of_date': 'AS_OF_DATE', 'audience_from': 'AUDIENCE_FROM',
                                      'stores_path': 'STORE_MASTER'}[name], '')) }}
  {%- else -%}
    {{ return('') }}
  {%- endif -%}
{% endmacro %}

{#- The as-of date D of this build, as a SQL date literal. -#}
{% macro as_of_date() %}
  {%- set d = run_value('as_of_date') -%}
  cast('{{ d if d else "1970-01-01" }}' as date)
{%- endmacro %}
