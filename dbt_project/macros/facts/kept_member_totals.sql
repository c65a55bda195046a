{#- int_member_order_totals, each person's valid orders summed up as of D, kept incrementally on
    DuckDB.

    A person's row is a function of two things: the set of its valid orders (each with its key,
    date, hour, channel, store and amounts) and, for the 365-day figures, D. The table keeps, per
    person, its order count and a fingerprint of those orders (macro member_orders_fingerprint);
    a build for D compares them with the valid orders as of D and recomputes only the persons
    that differ (new, changed or gone orders, or orders of another person: whatever caused it, a
    new day, a late refund, a re-delivered file, a OneID merge or split, a deleted person) and
    the persons with an order that left the window since the D the table holds. Every other
    person's row is what a whole build would give. When the orders' delta is a change from the
    orders this table was built from (its D0 and the build of the orders it read, kept_delta_from), the
    persons of the orders in it (as they were and as they are) are the ones whose orders may
    differ, and nothing is compared.

    The table's comment records the D it holds and a digest of the logic (this model's SQL, the
    fingerprint and the window), the invocation that built it and the build of the orders it read:
    "memberflow member_totals as of YYYY-MM-DD logic <md5> run <invocation> orders <invocation>". A table
    of a later D or of other logic is emptied and refilled, as is any table under
    `--full-refresh`. Spark: a plain table, rebuilt whole every build. -#}

{#- The columns of a valid order that a person's row is computed from, and its order time: not a
    column of this table, but of int_member_orders_counted, which is kept by the persons this
    table recomputes (macros/facts/kept_by_person.sql). -#}
{% macro member_orders_fingerprint() -%}
  {{ return(rows_fingerprint('order_key, source, store_code, business_date, order_hour, order_ts_local, '
                             ~ 'gross_amount_yuan, discount_amount_yuan, net_amount_yuan')) }}
{%- endmacro %}


{#- What the table holds besides its D (its comment, after the D): the logic. -#}
{% macro kept_totals_state() -%}
  {{ return('logic ' ~ local_md5(model.raw_code ~ '|' ~ member_orders_fingerprint() ~ '|' ~ cfg('window_days'))) }}
{%- endmacro %}


{#- The D the existing table holds when it can be brought forward to this build's D; none
    otherwise (no table, not incremental, a later D, other logic). -#}
{% macro kept_totals_as_of() -%}
  {%- set held = kept_held_before_run('member_totals') -%}
  {%- if held is not none and held[1] == kept_totals_state() -%}
    {{ return(held[0]) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- The first pre-hook: the persons to recompute: those whose valid orders (count, fingerprint)
    differ from the table's, the table's persons that have none any more, and those with an
    order dated from the first day of the held D's window to the day before this D's window
    (it has left the window). Nothing on the full path. The others are the kept tables'
    (macros/engine/kept_tables.sql). -#}
{% macro kept_totals_prepare() -%}
  {%- set since = kept_totals_as_of() -%}
  {%- if since is not none -%}
    {%- set window_days = cfg('window_days') | int -%}
    {%- set orders = ref('int_orders__unified') -%}
    create or replace table {{ kept_changed_relation() }} as
    {%- if kept_delta_from(orders, 'orders', since, kept_held_part('member_totals', 'orders')) %}
    {#- the orders' delta is a change from the orders this table was built from: the persons
        of the orders recomputed, as they were and as they are #}
    select one_id
    from {{ kept_delta(orders) }}
    where one_id is not null
    {%- else %}
    with current_totals as (
        select one_id, count(*) as lifetime_orders, {{ member_orders_fingerprint() }} as orders_fingerprint
        from {{ ref('int_orders_valid_as_of') }}
        where one_id is not null
        group by one_id
    )

    select coalesce(c.one_id, t.one_id) as one_id
    from current_totals c
    full outer join {{ this }} t
        on t.one_id = c.one_id
    where c.one_id is null
       or t.one_id is null
       or c.lifetime_orders <> t.lifetime_orders
       or c.orders_fingerprint <> t.orders_fingerprint
    {%- endif %}

    union

    select one_id
    from {{ ref('int_orders_valid_as_of') }}
    where one_id is not null
      and business_date >= {{ days_after("cast('" ~ since ~ "' as date)", 1 - window_days) }}
      and business_date < {{ days_after(as_of_date(), 1 - window_days) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
