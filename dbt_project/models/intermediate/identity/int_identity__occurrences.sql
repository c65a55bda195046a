{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=["{{ kept_delta_drop() }}",
              "{{ identity_delta_create(identity_chain_as_of(), identity_occurrences_delta()) }}",
              "{{ identity_occurrences_reset(identity_chain_as_of()) }}"],
    post_hook=["{{ identity_mark() }}", "{{ identity_occurrence_events_mark() }}"],
) }}
-- depends_on: {{ ref('int_orders__lines') }}
-- depends_on: {{ ref('stg_miniprogram__member_events') }}
-- depends_on: {{ ref('base_raw__deliveries') }}
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
    refund line, the only way a record can hold two values of one type (two such lines with the
    same new value list it once).

    Kept on DuckDB by what a day changes (macros/identity/kept_identity.sql): the rows as of D
    are compared with the table's, and only the rows that differ are deleted and inserted; the
    delta relation int_identity__occurrences__delta lists them for the rest of the graph. -#}
{%- if identity_chain_as_of() is none %}
{{ identity_occurrences() }}
{%- else %}
select record_id, is_order, from_extra_line, business_date, type_code, node_id
from {{ identity_delta() }}
where added
{%- endif %}
