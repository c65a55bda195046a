{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ kept_delta_drop() }}",
              "{{ kept_lines_prepare(kept_lines_as_of()) }}",
              "{{ kept_delta_create(kept_lines_as_of(), 'lines', 'line_uid', ['record_id', 'line_uid']) }}",
              "{{ kept_reset(kept_lines_as_of(), 'line_uid') }}"],
    post_hook=["{{ kept_delta_finish(kept_lines_as_of(), 'line_uid', ['record_id', 'line_uid']) }}",
               "{{ kept_drop_changed() }}",
               "{{ kept_mark('lines', kept_lines_built_state(run_value('as_of_date')) if keeps_tables() else '') }}"],
) }}
-- depends_on: {{ ref('base_raw__deliveries') }}
{#- Every order line of every source as of D, on one shape, keyed by the order it belongs to.

    pos: a SALE line is its order ('pos:<store_code>:<order_no>'); a REFUND line belongs to its
    sale's order (same store, ref_order_no) when that sale is known, else it is its own order
    (a refund-only order, never valid). Platform and mini-program orders are one line each
    (their latest delivered version). refund_amount_yuan is positive; the identifier hash columns
    carry the line's identifiers for the OneID graph (null = none or not an identifier).
    record_id: an integer for the order within this build (its sale's or its own line_uid), the
    key the identity models and marts.orders join on; line_uid: the line's own version. A REFUND
    line's identifiers that repeat its sale's are left out (the order already has them), so an
    order never lists an identifier twice.

    A table, read by the orders and the OneID graph. Kept on DuckDB by line
    (macros/orders/kept_lines.sql): a build recomputes only the lines that came, went, or whose
    sale came or went, and hands them on in int_orders__lines__delta. -#}
{%- set since = kept_lines_as_of() %}
{#- brought forward: only the lines listed in the work table (the sales a REFUND line is
    attached to are looked up among all lines) -#}
{%- set only = kept_changed_relation() if since is not none else none %}
{#- the POS lines to write (all, or those listed), named at each use, not through a CTE: a CTE
    read twice is materialized whole (6 M wide rows at 1 M members) -#}
{%- if only is none %}
{%- set pos_out = ref('stg_pos__lines') %}
{%- else %}
{%- set pos_out = '(select * from ' ~ ref('stg_pos__lines') ~ ' where line_uid in (select line_uid from ' ~ only ~ '))' %}
{%- endif %}
with
refund_sales as (
    {#- each REFUND line whose sale (same store, ref_order_no) is known as of D, with that sale -#}
    select
        r.store_code,
        r.order_no,
        s.line_uid,
        s.business_date,
        s.phone_hash,
        s.openid_hash,
        s.member_card_hash
    from {{ pos_out }} r
    inner join {{ ref('stg_pos__lines') }} s
        on s.store_code = r.store_code
       and s.order_no = r.ref_order_no
    where r.order_type = 'REFUND'
      and s.order_type = 'SALE'
),

pos_lines as (
    select
        coalesce(s.line_uid, p.line_uid) as record_id,
        p.line_uid,
        case
            when p.order_type = 'REFUND' and s.order_no is not null
                then {{ dbt.concat(["'pos:'", 'p.store_code', "':'", 'p.ref_order_no']) }}
            else {{ dbt.concat(["'pos:'", 'p.store_code', "':'", 'p.order_no']) }}
        end as order_key,
        'pos' as source,
        p.store_code,
        case when p.order_type = 'REFUND' and s.order_no is not null then p.ref_order_no else p.order_no end as order_id,
        case when p.order_type = 'REFUND' then 'refund' else 'sale' end as line_role,
        p.order_no as line_id,
        cast(null as {{ dbt.type_string() }}) as shop_id,
        p.order_ts_local,
        p.business_date,
        coalesce(s.business_date, p.business_date) as order_business_date,
        case when p.order_type = 'REFUND' then cast(0 as decimal(18, 2)) else p.gross_amount_yuan end as gross_amount_yuan,
        case when p.order_type = 'REFUND' then cast(0 as decimal(18, 2)) else p.discount_amount_yuan end as discount_amount_yuan,
        case when p.order_type = 'REFUND' then cast(0 as decimal(18, 2)) else p.paid_amount_yuan end as paid_amount_yuan,
        case when p.order_type = 'REFUND' then cast(-p.paid_amount_yuan as decimal(18, 2)) else cast(0 as decimal(18, 2)) end as refund_amount_yuan,
        cast(null as {{ dbt.type_string() }}) as platform_status,
        cast(0 as bigint) as points_redeemed,
        case when p.phone_hash = s.phone_hash then null else p.phone_hash end as phone_hash,
        p.phone_masked,
        case when p.openid_hash = s.openid_hash then null else p.openid_hash end as openid_hash,
        cast(null as {{ dbt.type_string() }}) as unionid_hash,
        cast(null as {{ dbt.type_string() }}) as member_id,
        cast(null as {{ dbt.type_string() }}) as member_id_hash,
        case when p.member_card_hash = s.member_card_hash then null else p.member_card_hash end as member_card_hash,
        cast(null as {{ dbt.type_string() }}) as meituan_user_hash,
        cast(null as {{ dbt.type_string() }}) as eleme_user_hash
    from {{ pos_out }} p
    left join refund_sales s
        on s.store_code = p.store_code
       and s.order_no = p.order_no
    where p.order_type in ('SALE', 'REFUND')
),

meituan_shops as (
    select meituan_shop_id, min(store_code) as store_code
    from {{ ref('stg_stores') }}
    where meituan_shop_id is not null
    group by meituan_shop_id
),

eleme_shops as (
    select eleme_shop_id, min(store_code) as store_code
    from {{ ref('stg_stores') }}
    where eleme_shop_id is not null
    group by eleme_shop_id
),

meituan_lines as (
    select
        m.line_uid as record_id,
        m.line_uid,
        {{ dbt.concat(["'meituan:'", 'm.order_id']) }} as order_key,
        'meituan' as source,
        shops.store_code,
        m.order_id,
        'order' as line_role,
        m.order_id as line_id,
        m.shop_id,
        m.order_ts_local,
        m.business_date,
        m.business_date as order_business_date,
        m.original_amount_yuan as gross_amount_yuan,
        cast(m.original_amount_yuan - m.paid_amount_yuan as decimal(18, 2)) as discount_amount_yuan,
        m.paid_amount_yuan,
        case
            when m.status = 'refunded' then m.paid_amount_yuan
            else coalesce(m.refund_amount_yuan, cast(0 as decimal(18, 2)))
        end as refund_amount_yuan,
        m.status as platform_status,
        cast(0 as bigint) as points_redeemed,
        m.phone_hash,
        m.phone_masked,
        cast(null as {{ dbt.type_string() }}) as openid_hash,
        cast(null as {{ dbt.type_string() }}) as unionid_hash,
        cast(null as {{ dbt.type_string() }}) as member_id,
        cast(null as {{ dbt.type_string() }}) as member_id_hash,
        cast(null as {{ dbt.type_string() }}) as member_card_hash,
        m.meituan_user_hash,
        cast(null as {{ dbt.type_string() }}) as eleme_user_hash
    from {{ ref('stg_meituan__orders') }} m
    left join meituan_shops shops
        on shops.meituan_shop_id = m.shop_id
    {%- if only is not none %}
    where m.line_uid in (select line_uid from {{ only }})
    {%- endif %}
),

eleme_lines as (
    select
        e.line_uid as record_id,
        e.line_uid,
        {{ dbt.concat(["'eleme:'", 'e.order_id']) }} as order_key,
        'eleme' as source,
        shops.store_code,
        e.order_id,
        'order' as line_role,
        e.order_id as line_id,
        e.shop_id,
        e.order_ts_local,
        e.business_date,
        e.business_date as order_business_date,
        e.original_amount_yuan as gross_amount_yuan,
        cast(e.original_amount_yuan - e.paid_amount_yuan as decimal(18, 2)) as discount_amount_yuan,
        e.paid_amount_yuan,
        case
            when e.status = 'refunded' then e.paid_amount_yuan
            else coalesce(e.refund_amount_yuan, cast(0 as decimal(18, 2)))
        end as refund_amount_yuan,
        e.status as platform_status,
        cast(0 as bigint) as points_redeemed,
        e.phone_hash,
        e.phone_masked,
        cast(null as {{ dbt.type_string() }}) as openid_hash,
        cast(null as {{ dbt.type_string() }}) as unionid_hash,
        cast(null as {{ dbt.type_string() }}) as member_id,
        cast(null as {{ dbt.type_string() }}) as member_id_hash,
        cast(null as {{ dbt.type_string() }}) as member_card_hash,
        cast(null as {{ dbt.type_string() }}) as meituan_user_hash,
        e.eleme_user_hash
    from {{ ref('stg_eleme__orders') }} e
    left join eleme_shops shops
        on shops.eleme_shop_id = e.shop_id
    {%- if only is not none %}
    where e.line_uid in (select line_uid from {{ only }})
    {%- endif %}
),

miniprogram_lines as (
    select
        o.line_uid as record_id,
        o.line_uid,
        {{ dbt.concat(["'miniprogram:'", 'o.order_id']) }} as order_key,
        'miniprogram' as source,
        o.store_code,
        o.order_id,
        'order' as line_role,
        o.order_id as line_id,
        cast(null as {{ dbt.type_string() }}) as shop_id,
        o.order_ts_local,
        o.business_date,
        o.business_date as order_business_date,
        {{ fen_to_yuan('o.total_fen') }} as gross_amount_yuan,
        {{ fen_to_yuan('o.total_fen - o.paid_fen') }} as discount_amount_yuan,
        {{ fen_to_yuan('o.paid_fen') }} as paid_amount_yuan,
        case
            when o.status = 'refunded' then {{ fen_to_yuan('o.paid_fen') }}
            else {{ fen_to_yuan('coalesce(o.refund_fen, 0)') }}
        end as refund_amount_yuan,
        o.status as platform_status,
        case when o.status = 'paid' then cast(coalesce(o.points_redeemed, 0) as bigint) else cast(0 as bigint) end as points_redeemed,
        o.phone_hash,
        o.phone_masked,
        o.openid_hash,
        o.unionid_hash,
        o.member_id,
        o.member_id_hash,
        cast(null as {{ dbt.type_string() }}) as member_card_hash,
        cast(null as {{ dbt.type_string() }}) as meituan_user_hash,
        cast(null as {{ dbt.type_string() }}) as eleme_user_hash
    from {{ ref('stg_miniprogram__orders') }} o
    {%- if only is not none %}
    where o.line_uid in (select line_uid from {{ only }})
    {%- endif %}
),

unioned as (
    select * from pos_lines
    union all
    select * from meituan_lines
    union all
    select * from eleme_lines
    union all
    select * from miniprogram_lines
)

select
    record_id,
    line_uid,
    order_key,
    source,
    store_code,
    order_id,
    line_role,
    line_id,
    shop_id,
    order_ts_local,
    business_date,
    order_business_date,
    cast(gross_amount_yuan as decimal(18, 2)) as gross_amount_yuan,
    cast(discount_amount_yuan as decimal(18, 2)) as discount_amount_yuan,
    cast(paid_amount_yuan as decimal(18, 2)) as paid_amount_yuan,
    cast(refund_amount_yuan as decimal(18, 2)) as refund_amount_yuan,
    platform_status,
    points_redeemed,
    phone_hash,
    phone_masked,
    openid_hash,
    unionid_hash,
    member_id,
    member_id_hash,
    member_card_hash,
    meituan_user_hash,
    eleme_user_hash
from unioned
