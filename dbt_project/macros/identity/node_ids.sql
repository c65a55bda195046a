{#- identifier_node_id(hash): the integer a hashed identifier has as a node of the OneID graph
    in one build. Identifiers are HMAC-SHA256 hex strings (uniformly random), so a 64-bit digest
    of the string is as good as a number for it and lets every graph step join and group on
    integers instead of 64-character strings. It is not stored across runs (the stable key is the
    identifier hash itself): an engine may change its hash function without harm. Two identifiers
    sharing a node id (probability ~ n² / 2^64, about 1e-6 for six million identifiers) would be
    merged into one: tests/identity/assert_identifier_node_ids_are_unique.sql checks it. -#}
{% macro identifier_node_id(hash_expr) -%}
  {{ return(adapter.dispatch('identifier_node_id', 'memberflow')(hash_expr)) }}
{%- endmacro %}

{% macro duckdb__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then cast(hash({{ hash_expr }}) >> 1 as bigint) end
{%- endmacro %}

{% macro spark__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then xxhash64({{ hash_expr }}) end
{%- endmacro %}

{#- Portable: the first 15 hex digits (60 bits) of the HMAC as a number. -#}
{% macro default__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then (
    {%- for i in range(15) %}
    ({{ dbt.position("substr(lower(" ~ hash_expr ~ "), " ~ (i + 1) ~ ", 1)", "'0123456789abcdef'") }} - 1) * cast({{ 16 ** (14 - i) }} as {{ dbt.type_bigint() }}){{ " +" if not loop.last }}
    {%- endfor %}
  ) end
{%- endmacro %}
