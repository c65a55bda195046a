{#- Mini-program member profile events: the latest delivered version of each (member_id, event, event_ts_local) as of D, every
    business date (the staging view stg_miniprogram__member_events leaves out those after D). Kept
    incrementally on DuckDB: macros/staging/staged_versions.sql. -#}
{{ staged_versions('miniprogram_members', ['member_id', 'event', 'event_ts_local']) }}
