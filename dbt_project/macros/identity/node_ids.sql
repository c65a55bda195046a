{#- identifier_node_id(hash): the integer a hashed identifier has as a node of the OneID graph
    in one build. Identifiers are HMAC-SHA256 hex strings (uniformly random), so the number in
    their first 15 hex digits (60 bits, a positive bigint) is as good as a number for them and
    lets every graph step join and group on integers instead of 64-character strings.

    The number must be the same on every engine: node ids break ties between persons first seen
    on the same day (one_id numbering, claims in identity.one_id_registry), so an engine-specific
    hash function would number persons differently on DuckDB and on Spark. Each engine parses the
    hex digits with its own function (engine-specific macro); the value is identical. It is not
    stored across runs (the stable key is the identifier hash itself). Two identifiers sharing a
    node id (probability ~ n² / 2^61, about 1e-5 for six million identifiers) would be merged
    into one: tests/identity/assert_identifier_node_ids_are_unique.sql checks it. -#}
{% macro identifier_node_id(hash_expr) -%}
  {{ return(adapter.dispatch('identifier_node_id', 'memberflow')(hash_expr)) }}
{%- endmacro %}

{#- DuckDB: a '0x…' string casts to an integer. -#}
{% macro duckdb__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then cast('0x' || substr({{ hash_expr }}, 1, 15) as bigint) end
{%- endmacro %}

{#- Spark: conv() turns base-16 text into base-10 text. -#}
{% macro spark__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then cast(conv(substr({{ hash_expr }}, 1, 15), 16, 10) as bigint) end
{%- endmacro %}

{#- Portable: the first 15 hex digits (60 bits) of the HMAC as a number, digit by digit. -#}
{% macro default__identifier_node_id(hash_expr) -%}
  case when {{ hash_expr }} is not null then (
    {%- for i in range(15) %}
    ({{ dbt.position("substr(lower(" ~ hash_expr ~ "), " ~ (i + 1) ~ ", 1)", "'0123456789abcdef'") }} - 1) * cast({{ 16 ** (14 - i) }} as {{ dbt.type_bigint() }}){{ " +" if not loop.last }}
    {%- endfor %}
  ) end
{%- endmacro %}
