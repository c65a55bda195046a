{{ identity_recomputed_config('identity_excluded_prepare', 'node_id') }}
-- depends_on: {{ ref('int_identity__nodes') }}
-- depends_on: {{ ref('int_identity__occurrences') }}
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
    most N records and in no such order is linked to at most N values of any type.

    Kept on DuckDB (macros/identity/kept_identity.sql): a build recomputes the identifiers of the
    records changed since the table's D, and its delta lists those excluded or admitted again. -#}
{%- if identity_kept_as_of() is none %}
{{ identity_excluded_sql(ref('int_identity__nodes'), ref('int_identity__occurrences')) }}
{%- else %}
select node_id, reason, reason_detail
from {{ identity_work('recomputed') }}
{%- endif %}
