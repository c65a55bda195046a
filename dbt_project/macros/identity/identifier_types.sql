{#- The seven identifier types of SPEC §4, with the small code the graph models use for them and
    the hash column that carries them on orders (int_orders__lines) and on member events. -#}
{% macro identifier_types() -%}
  {{ return([
      {'code': 1, 'name': 'phone', 'order_column': 'phone_hash', 'event_column': 'phone_hash'},
      {'code': 2, 'name': 'unionid', 'order_column': 'unionid_hash', 'event_column': 'unionid_hash'},
      {'code': 3, 'name': 'openid', 'order_column': 'openid_hash', 'event_column': 'openid_hash'},
      {'code': 4, 'name': 'member_id', 'order_column': 'member_id_hash', 'event_column': 'member_id_hash'},
      {'code': 5, 'name': 'member_card_no', 'order_column': 'member_card_hash', 'event_column': 'member_card_hash'},
      {'code': 6, 'name': 'meituan_user_id', 'order_column': 'meituan_user_hash', 'event_column': none},
      {'code': 7, 'name': 'eleme_user_id', 'order_column': 'eleme_user_hash', 'event_column': none},
  ]) }}
{%- endmacro %}

{#- The identifier type name of a type code expression. -#}
{% macro identifier_type_name(code_expr) -%}
  case {{ code_expr }}
  {%- for t in identifier_types() %}
    when {{ t.code }} then '{{ t.name }}'
  {%- endfor %}
  end
{%- endmacro %}
