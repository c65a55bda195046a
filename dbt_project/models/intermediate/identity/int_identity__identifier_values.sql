{{ config(materialized=view_materialization()) }}
{#- node_id → identifier hash (and, for a phone, its masked display form), read straight from the
    raw layer: any row that carries a hash will do, so no delivery or version logic is needed and
    the scan stays cheap. A view: the graph works on node ids only; the few models that must
    show a hash (the registry for new identifiers, excluded_identifiers) join it to the nodes
    they need. -#}
{%- set sources = [
    ('pos_lines', [('phone', 'phone_hash'), ('openid', 'openid_hash'), ('member_card_no', 'member_card_hash')]),
    ('meituan_orders', [('phone', 'phone_hash'), ('meituan_user_id', 'meituan_user_hash')]),
    ('eleme_orders', [('phone', 'phone_hash'), ('eleme_user_id', 'eleme_user_hash')]),
    ('miniprogram_orders', [('phone', 'phone_hash'), ('unionid', 'unionid_hash'), ('openid', 'openid_hash'), ('member_id', 'member_id_hash')]),
    ('miniprogram_members', [('phone', 'phone_hash'), ('unionid', 'unionid_hash'), ('openid', 'openid_hash'), ('member_id', 'member_id_hash'), ('member_card_no', 'member_card_hash')]),
] -%}
{%- for table_name, identifiers in sources %}
{%- set outer_loop = loop %}
{%- for identifier_type, col in identifiers %}
select
    {{ identifier_node_id(col) }} as node_id,
    '{{ identifier_type }}' as identifier_type,
    {{ col }} as identifier_hash,
    {% if identifier_type == 'phone' %}phone_masked{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as phone_masked
from {{ source('raw', table_name) }}
where {{ col }} is not null
{{ "union all" if not (loop.last and outer_loop.last) }}
{%- endfor %}
{%- endfor %}
