{{ identity_recomputed_config('identity_centers_prepare', 'record_id') }}
-- depends_on: {{ ref('int_identity__occurrences') }}
-- depends_on: {{ ref('int_identity__excluded_nodes') }}
{#- Each record's centre: the smallest node id among its identifiers that are identifiers of a
    person (not excluded). A record's star edges join every such identifier to its centre; a
    record with none (an anonymous cash sale, a placeholder phone only) has no centre.

    Kept on DuckDB (macros/identity/kept_identity.sql): a build recomputes the records changed
    since the table's D and those of an identifier excluded or admitted again; its delta lists
    the records whose centre changed. -#}
{%- if identity_kept_as_of() is none %}
{{ identity_centers_sql(ref('int_identity__occurrences'), ref('int_identity__excluded_nodes')) }}
{%- else %}
select record_id, center_node_id
from {{ identity_work('recomputed') }}
{%- endif %}
