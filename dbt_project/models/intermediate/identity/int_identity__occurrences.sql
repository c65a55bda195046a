{#- Every (record, identifier) pair as of D, on integers: the raw material of the OneID graph
    (SPEC §4, §11). One row per identifier of a record.

    A record is one order (a POS sale together with its REFUND rows; a platform or mini-program
    order's latest version), of any status, or one member event; record_id is the order's
    record_id or the event's line_uid. node_id: the identifier hash as a node (macro
    identifier_node_id); type_code: its identifier type (macro identifier_types). Invalid, masked
    and privacy phones have no hash and never appear. referrer_member_id is not the record's
    person and is not used. business_date is the order's (for a POS refund line, its sale's) or
    the event's. A record lists an identifier once (int_orders__lines leaves out a refund line's
    identifiers that repeat its sale's); from_extra_line marks an identifier that came from such a
    refund line, the only way a record can hold two values of one type. -#}
{%- set types = identifier_types() %}
with identifier_types as (
    {%- for t in types %}
    select {{ t.code }} as type_code
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

records as (
    select
        record_id,
        true as is_order,
        case when line_role = 'refund' and line_id <> order_id then true else false end as from_extra_line,
        order_business_date as business_date,
        {%- for t in types %}
        {{ identifier_node_id(t.order_column) }} as node_{{ t.code }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_orders__lines') }}

    union all

    select
        line_uid as record_id,
        false as is_order,
        false as from_extra_line,
        business_date,
        {%- for t in types %}
        {%- if t.event_column %}
        {{ identifier_node_id(t.event_column) }} as node_{{ t.code }}{{ "," if not loop.last }}
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as node_{{ t.code }}{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from {{ ref('stg_miniprogram__member_events') }}
),

occurrences as (
    {#- one pass over the records: each record × each identifier type, kept where present -#}
    select
        r.record_id,
        r.is_order,
        r.from_extra_line,
        r.business_date,
        t.type_code,
        case t.type_code
            {%- for t in types %}
            when {{ t.code }} then r.node_{{ t.code }}
            {%- endfor %}
        end as node_id
    from records r
    cross join identifier_types t
)

select
    record_id,
    is_order,
    from_extra_line,
    business_date,
    cast(type_code as {{ dbt.type_int() }}) as type_code,
    node_id
from occurrences
where node_id is not null
