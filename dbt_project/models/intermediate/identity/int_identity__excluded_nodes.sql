{#- Identifier values that are not identifiers of a person (SPEC §4, §11), one row per node:
    - blocklist: on the configured blocklist (memberflow.yaml identity.phone_blocklist /
      identifier_blocklist, passed as hashes);
    - too_many_linked_values: seen in the same record as more than max_linked_values distinct
      values of another identifier type (a store placeholder phone, a shared card);
    - too_many_orders_per_day: on more than max_orders_per_day distinct orders in one business day.
    The junk counts use direct co-occurrence in records after dropping blocklisted values and are
    computed once (not iterated). When several reasons hold, the first in the order above is given
    and reason_detail tells the worst case of it.

    Only nodes that can break a limit are counted: a record holds at most one value of a type
    except a POS order whose refund line brings another one (from_extra_line), so a node in at
    most N records and in no such order is linked to at most N values of any type. -#}
{%- set max_linked = cfg('max_linked_values') | int -%}
{%- set max_orders = cfg('max_orders_per_day') | int -%}
{%- set blocklist = cfg('blocklist') or [] -%}
with nodes as (
    select node_id, identifier_type, record_count from {{ ref('int_identity__nodes') }}
),

blocklist as (
    {%- if blocklist %}
    {%- for item in blocklist %}
    select '{{ item["type"] }}' as identifier_type, {{ identifier_node_id("'" ~ item["hash"] ~ "'") }} as node_id
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as identifier_type,
           cast(null as {{ dbt.type_bigint() }}) as node_id
    from nodes
    where 1 = 0
    {%- endif %}
),

blocked as (
    select distinct n.node_id
    from nodes n
    inner join blocklist b
        on b.identifier_type = n.identifier_type
       and b.node_id = n.node_id
),

occurrences as (
    select o.record_id, o.is_order, o.from_extra_line, o.business_date, o.node_id, o.type_code
    from {{ ref('int_identity__occurrences') }} o
    left join blocked b
        on b.node_id = o.node_id
    where b.node_id is null
),

records_with_extra_lines as (
    select distinct record_id
    from occurrences
    where from_extra_line
),

link_candidates as (
    select node_id
    from nodes
    where record_count > {{ max_linked }}
    union
    select o.node_id
    from occurrences o
    inner join records_with_extra_lines r
        on r.record_id = o.record_id
),

candidate_occurrences as (
    select o.record_id, o.node_id, o.type_code
    from occurrences o
    inner join link_candidates c
        on c.node_id = o.node_id
),

too_many_linked as (
    select
        a.node_id,
        b.type_code as linked_type_code,
        count(distinct b.node_id) as linked_values
    from candidate_occurrences a
    inner join occurrences b
        on b.record_id = a.record_id
       and b.type_code <> a.type_code
    group by a.node_id, b.type_code
    having count(distinct b.node_id) > {{ max_linked }}
),

too_many_orders as (
    select o.node_id, o.business_date, count(distinct o.record_id) as orders
    from occurrences o
    inner join nodes n
        on n.node_id = o.node_id
    where o.is_order
      and n.record_count > {{ max_orders }}
    group by o.node_id, o.business_date
    having count(distinct o.record_id) > {{ max_orders }}
),

reasons as (
    select
        node_id,
        1 as priority,
        0 as severity,
        'blocklist' as reason,
        'on the configured blocklist (memberflow.yaml, identity)' as reason_detail
    from blocked
    union all
    select
        node_id,
        2 as priority,
        linked_values as severity,
        'too_many_linked_values' as reason,
        {{ dbt.concat([
            "'linked to '", dbt.safe_cast('linked_values', dbt.type_string()), "' distinct '",
            identifier_type_name('linked_type_code'), "' values (limit " ~ max_linked ~ ")'"]) }} as reason_detail
    from too_many_linked
    union all
    select
        node_id,
        3 as priority,
        orders as severity,
        'too_many_orders_per_day' as reason,
        {{ dbt.concat([
            "'on '", dbt.safe_cast('orders', dbt.type_string()), "' orders on '",
            dbt.safe_cast('business_date', dbt.type_string()), "' (limit " ~ max_orders ~ " a day)'"]) }} as reason_detail
    from too_many_orders
),

ranked as (
    select
        *,
        row_number() over (
            partition by node_id order by priority, severity desc, reason_detail
        ) as reason_rank
    from reasons
)

select node_id, reason, reason_detail
from ranked
where reason_rank = 1
