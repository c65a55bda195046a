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

{#- The as-of date D of this build, as a SQL date literal. -#}
{% macro as_of_date() %}
  {%- set d = cfg('as_of_date') -%}
  cast('{{ d if d else "1970-01-01" }}' as date)
{%- endmacro %}
