{#- Meituan Waimai orders: the latest delivered version of each (order_id) as of D, every
    business date (the staging view stg_meituan__orders leaves out those after D). Kept
    incrementally on DuckDB: macros/staging/staged_versions.sql. -#}
{{ staged_versions('meituan_orders', ['order_id']) }}
