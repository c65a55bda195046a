{{ identity_recomputed_config('identity_edges_prepare', 'node_id') }}
-- depends_on: {{ ref('int_identity__occurrences') }}
-- depends_on: {{ ref('int_identity__excluded_nodes') }}
-- depends_on: {{ ref('int_identity__record_centers') }}
{#- Star edges of the OneID graph: every identifier of a record joined to the record's centre
    (linear in the data, unlike all pairs). One row per distinct edge, with its support.

    Kept on DuckDB (macros/identity/kept_identity.sql): a build recomputes the edges of the
    identifiers of changed records, of records whose centre changed, and of identifiers
    excluded or admitted again; its delta lists the edges that went or came. -#}
{%- if identity_kept_as_of() is none %}
{{ identity_edges_sql(ref('int_identity__occurrences'), ref('int_identity__record_centers'), ref('int_identity__excluded_nodes')) }}
{%- else %}
select node_id, linked_node_id, record_count, first_seen_date, last_seen_date
from {{ identity_work('recomputed') }}
{%- endif %}
