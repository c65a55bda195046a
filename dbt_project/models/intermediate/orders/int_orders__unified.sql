{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ kept_delta_drop() }}",
              "{{ kept_orders_prepare() }}",
              "{{ kept_delta_create(kept_orders_as_of(), 'orders', 'record_id', ['record_id', 'one_id', 'order_key']) }}",
              "{{ kept_reset(kept_orders_as_of(), 'record_id') }}"],
    post_hook=["{{ kept_delta_finish(kept_orders_as_of(), 'record_id', ['record_id', 'one_id', 'order_key']) }}",
               "{{ kept_drop_changed() }}",
               "{{ kept_orders_keep_deleted() }}",
               "{{ kept_mark('orders', kept_orders_built_state(run_value('as_of_date')) if keeps_tables() else '') }}"],
) }}
-- depends_on: {{ ref('base_raw__deliveries') }}
-- depends_on: {{ ref('stg_stores') }}
-- depends_on: {{ ref('int_identity__record_centers') }}
-- depends_on: {{ ref('int_identity__one_id_current') }}
-- depends_on: {{ ref('deleted_persons') }}
-- depends_on: {{ ref('one_id_registry') }}
{#- Every order as of D, one row per order key, with its amounts, status and person (SPEC §3,
    §4, §10, §11); marts.orders shows it without the bookkeeping columns.

    net = paid − refunds: pos sale paid + its REFUND rows' (negative) paid; platforms paid −
    refund (0 when fully refunded); mini-program (paid_fen − refund_fen) / 100 (0 when refunded).
    order_status: completed | cancelled | refunded | partially_refunded | refund_only (a POS
    REFUND whose sale is unknown as of D). valid = a sale, not cancelled, net > 0 (macro
    orders_from_lines). one_id: the person of the order's record (null: anonymous or deleted).
    record_id, line_count, lines_fingerprint: what the table is kept by on DuckDB, where a build
    recomputes only the orders whose lines or person changed (macros/orders/kept_orders.sql) and
    hands them on in int_orders__unified__delta (record_id, one_id, order_key: as they were and
    as they are), by which the persons' order totals recompute only those persons and the BI
    copy replaces only those orders. -#}
{%- set since = kept_orders_as_of() %}
{#- the whole build reads the lines view where it needs them (a CTE read four times would be
    materialized: 12 M wide rows); the brought-forward one reads the changed orders' lines -#}
{%- set lines = ref('int_orders__lines') if since is none else 'lines_' %}
with
{%- if since is not none %}
lines_ as (
    select * from {{ ref('int_orders__lines') }}
    where record_id in (select record_id from {{ kept_changed_relation() }} where line_count is not null)
),
{%- endif %}

{{ orders_from_lines(lines) }},

{% if since is none -%}
fingerprints_ as (
    {{ record_fingerprints(lines) }}
),

records_ as (
    select f.record_id, f.lines_fingerprint, p.one_id
    from fingerprints_ f
    left join ({{ order_persons() }}) p
        on p.record_id = f.record_id
)
{%- else -%}
records_ as (
    {#- made by the pre-hook: the changed records' fingerprint and person as of D -#}
    select record_id, lines_fingerprint, one_id
    from {{ kept_changed_relation() }}
    where line_count is not null
)
{%- endif %}

select
    o.record_id,
    o.order_key,
    o.source,
    o.store_code,
    o.order_id,
    o.order_ts_local,
    o.business_date,
    o.order_hour,
    o.gross_amount_yuan,
    o.discount_amount_yuan,
    o.paid_amount_yuan,
    o.refund_amount_yuan,
    o.net_amount_yuan,
    o.order_status,
    o.is_valid,
    o.points_redeemed,
    o.shop_id,
    o.line_count,
    r.lines_fingerprint,
    r.one_id
from orders_unified_ o
inner join records_ r
    on r.record_id = o.record_id
