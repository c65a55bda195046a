{#- POS register lines (SALE and REFUND): the latest delivered version of each (store_code, order_no) as of D, every
    business date (the staging view stg_pos__lines leaves out those after D). Kept
    incrementally on DuckDB: macros/staging/staged_versions.sql. -#}
{{ staged_versions('pos_lines', ['store_code', 'order_no']) }}
