{#- view_materialization(): how a model that is a view on DuckDB is materialized on each engine.

    DuckDB: a view (no copy; DuckDB scans the underlying tables fast). Spark: a table. A Spark
    view is planned and computed again by every reader, each time with its own shuffles and
    tasks (a staging view rereads every raw file and ranks the versions again for each test and
    model that reads it); and readers outside Spark (the BI copy, the outbox) can only open
    tables, as Parquet folders. The logic is the same; only where the result lives differs.
    The staging base tables (base_<source>__<entity>) hold the deduplicated raw rows on both
    engines, kept incrementally on DuckDB (macros/staging/staged_versions.sql); the stg_ views on
    them are tables on Spark like every other view. -#}
{% macro view_materialization() -%}
  {{ return(adapter.dispatch('view_materialization', 'memberflow')()) }}
{%- endmacro %}

{% macro default__view_materialization() -%}
  {{ return('view') }}
{%- endmacro %}

{% macro spark__view_materialization() -%}
  {{ return('table') }}
{%- endmacro %}
