{#- dbt's `relationships` test, each child value checked once: a mart with millions of rows and a
    million persons (marts.orders → one_id_map) probes the parent a million times, not eleven
    million (3 s → 1 s at 1 M persons). A failure lists each missing value once, instead of once
    per row that holds it; it passes and fails exactly when dbt's does.

    When a where config narrows the child (`model` is then dbt's filtered subquery, not a
    relation; macros/engine/tests_since_pass.sql), only the parent's rows of those values are
    read: at 1 M, marts.orders' few changed one_ids are looked up in the OneID map without
    reading all of it (0.55 s instead of 0.98 s). The result is the same: a value missing from
    the parent is missing from its rows of the child's values. -#}
{% macro default__test_relationships(model, column_name, to, field) %}
{%- set narrowed = model is string %}

with child as (
    select distinct {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    {%- if narrowed %}
    where {{ field }} in (select from_field from child)
    {%- endif %}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null

{% endmacro %}
