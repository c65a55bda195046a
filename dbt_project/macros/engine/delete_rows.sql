{#- delete_rows(relation, condition): remove the rows of `relation` for which the SQL `condition`
    is true (rows where it is false or null stay), for use in a hook. The history models
    (identity.one_id_registry, audiences.audience_members) forget rows this way before appending. -#}
{% macro delete_rows(relation, condition) -%}
  {{ return(adapter.dispatch('delete_rows', 'memberflow')(relation, condition)) }}
{%- endmacro %}

{% macro default__delete_rows(relation, condition) -%}
  delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{#- Spark: a plain Parquet table takes no DELETE (that needs Delta Lake or Iceberg, whose jars a
    cluster may not have). When a row matches, the rows to keep are copied to a work table and
    written back with INSERT OVERWRITE (Spark does not overwrite a table it reads in the same
    statement); nothing is rewritten when no row matches. The statements run here, while the
    hook is rendered at run time; the hook itself is then a no-op. -#}
{% macro spark__delete_rows(relation, condition) -%}
  {%- if execute -%}
    {%- set matched = run_query('select count(*) from ' ~ relation ~ ' where ' ~ condition).columns[0].values()[0] -%}
    {%- if matched | int > 0 -%}
      {%- set keep = api.Relation.create(schema=relation.schema, identifier=relation.identifier ~ '__keep', type='table') -%}
      {% do run_query('drop table if exists ' ~ keep) %}
      {% do run_query('create table ' ~ keep ~ ' using parquet as select * from ' ~ relation
                      ~ ' where not coalesce(' ~ condition ~ ', false)') %}
      {% do run_query('insert overwrite table ' ~ relation ~ ' select * from ' ~ keep) %}
      {% do run_query('drop table if exists ' ~ keep) %}
    {%- endif -%}
  {%- endif -%}
  select 1
{%- endmacro %}
