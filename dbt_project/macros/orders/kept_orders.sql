{#- int_orders__unified, every order as of D with its person, kept incrementally on DuckDB.

    An order's row is a function of three things: the set of its staged lines (each line
    version is a line_uid), the store master (a platform shop's store_code) and its person
    (the one_id of its record's centre, null when anonymous or deleted). The table keeps, per
    order, its record_id, its line count, a fingerprint of its line_uids and its one_id; a build
    for D compares them with the lines and persons as of D, and recomputes only the orders that
    differ (new, changed, gone, or of another person), whatever caused it: a new day's orders,
    a late REFUND of an old sale, a sale that turns a lone REFUND into its refund, a re-delivered
    file, a line whose business date is reached, a OneID merge, an excluded identifier, a
    deleted person.

    A line_uid names one version only while the deliveries it was numbered from stay as they
    were (macro line_uid: table, delivery day, file rank, line). So the table's comment records
    the D it holds, a digest of the order tables' deliveries up to that D (the staging tables'
    digest, macro staged_deliveries_digest) and a digest of the logic (the order SQL and the
    store master), the dbt invocation that built it and the builds of the lines, the record
    centres and the registry it read: "memberflow orders as of YYYY-MM-DD deliveries <md5> logic
    <md5> run <invocation> lines <invocation> centers <invocation> registry <invocation>"; the
    persons deleted as of that D are kept beside it (int_orders__unified__deleted). A table of a
    later D, of other deliveries up
    to its D, or of other logic is emptied and refilled, as is any table under `--full-refresh`.
    Spark: a plain table, rebuilt whole every build.

    The lines' delta (macros/orders/kept_lines.sql) spares most of the comparison: when it is a
    change from the lines this table was built from (same D0 and build of the lines), only the records
    in it are compared by their lines; and when the centres' delta, the registry and the persons
    deleted say which records' person may have changed (kept_orders_persons_scoped), only those
    are compared by their person. The table hands on its own delta (record_id, one_id of
    the orders recomputed), by which the persons' order totals recompute only those persons. -#}

{% macro kept_orders_tables() -%}
  {{ return(['pos_lines', 'meituan_orders', 'eleme_orders', 'miniprogram_orders']) }}
{%- endmacro %}


{#- A digest of the platform shops' stores (which store a Meituan or Ele.me shop is), as
    staged: the part of the store master the order lines read. -#}
{% macro store_master_digest() -%}
  {%- set found = run_query(
      "select coalesce(md5(string_agg(store_code || '|' || coalesce(meituan_shop_id, '') || '|' || "
      ~ "coalesce(eleme_shop_id, ''), ',' order by store_code, meituan_shop_id, eleme_shop_id)), '') from "
      ~ ref('stg_stores')) -%}
  {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}


{#- A digest of what the rows mean besides their lines and persons: the order SQL (this model,
    the lines' SQL (order_lines_logic) and macros orders_from_lines and record_fingerprints) and
    the platform shops' stores. -#}
{% macro kept_orders_logic_digest() -%}
  {{ return(local_md5(orders_from_lines('lines_') ~ '|' ~ record_fingerprints('lines_') ~ '|'
                      ~ order_lines_logic() ~ '|'
                      ~ model.raw_code ~ '|' ~ store_master_digest())) }}
{%- endmacro %}


{#- What the table holds besides its D (its comment, after the D): the deliveries up to
    `through` and the logic. -#}
{% macro kept_orders_state(through) -%}
  {{ return(staged_state(kept_orders_tables(), through) ~ ' logic ' ~ kept_orders_logic_digest()) }}
{%- endmacro %}


{#- What the table built in this invocation holds besides its D: the deliveries, the logic, the
    invocation (which tells the persons' order totals whether the orders' delta is a change
    from the orders they read) and the build of the lines it read (which tells the next build
    whether the lines' delta is a change from those lines). -#}
{% macro kept_orders_built_state(through) -%}
  {{ return(kept_orders_state(through) ~ ' run ' ~ invocation_id ~ ' '
            ~ kept_read_mark('lines', ref('int_orders__lines'), 'lines') ~ ' '
            ~ kept_read_mark('centers', ref('int_identity__record_centers'), 'identity')
            ~ ' registry ' ~ (one_id_current_registry(ref('int_identity__one_id_current')) or 'none')) }}
{%- endmacro %}


{#- The D the existing table holds when it can be brought forward to this build's D; none
    otherwise (no table, not incremental, a later D, other deliveries up to its D, other logic). -#}
{% macro kept_orders_as_of() -%}
  {%- set held = kept_held_before_run('orders') -%}
  {%- if held is not none and held[1] == kept_orders_state(held[0]) -%}
    {{ return(held[0]) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- Each record's person as of D: the one_id of its centre, unless that person is deleted; for
    the records of `centers` (record_id, center_node_id: by default every record's centre). -#}
{% macro order_persons(centers=none) -%}
    select c.record_id, s.one_id
    from {{ centers if centers is not none else ref('int_identity__record_centers') }} c
    inner join {{ ref('int_identity__one_id_current') }} s
        on s.node_id = c.center_node_id
    left join {{ ref('deleted_persons') }} d
        on d.one_id = s.one_id
    where d.one_id is null
{%- endmacro %}


{#- The persons that were deleted when the orders were built: kept beside them on DuckDB (their
    orders have no one_id, so the table itself does not say whose they were). -#}
{% macro kept_orders_deleted_relation() -%}
  {{ return(this.incorporate(path={"identifier": this.identifier ~ "__deleted"})) }}
{%- endmacro %}


{#- Post-hook: the persons deleted as of this build's D, for the next build's comparison of
    persons (kept_orders_persons_scoped). -#}
{% macro kept_orders_keep_deleted() -%}
  {%- if keeps_tables() -%}
    create or replace table {{ kept_orders_deleted_relation() }} as
    select one_id from {{ ref('deleted_persons') }};
    comment on table {{ kept_orders_deleted_relation() }} is 'memberflow orders_deleted as of {{ run_value("as_of_date") }} run {{ invocation_id }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Whether the persons of the orders held as of `since` can be compared for only the records
    whose person may have changed: a record's person is the one_id of its centre node, unless
    that person is deleted, so it changes only when (a) its centre changed, (b) its centre's
    one_id changed, or (c) that one_id was deleted or is no longer. Each is known when
    - the centres' delta is a change from the centres the orders were built from (kept_delta_from:
      that D0, that build): (a) is its records;
    - the registry was brought forward from the very registry the orders' one_ids came from
      ("after <D0> prev <that build>") and one_id_current was built from the registry as it is:
      only identifiers with a registry row after D0 have another one_id, (b);
    - the persons deleted then were kept beside the orders by their build (kept_orders_keep_deleted):
      (c) is the persons deleted now and not then, or then and not now.
    Not on a rerun of the same D (the registry then rewrites D's own rows). (a) is kept though a
    record's centre moves only when its lines changed (the lines' delta) or an identifier was
    excluded or admitted again, whose one_id then has a registry row: no test isolates it. -#}
{% macro kept_orders_persons_scoped(since) -%}
  {%- if not one_ids_changed_only_after(since, kept_held_part('orders', 'registry'), run_value('as_of_date'),
                                        ref('one_id_registry'), ref('int_identity__one_id_current')) -%}
    {{ return(false) }}
  {%- endif -%}
  {%- if not kept_delta_from(ref('int_identity__record_centers'), 'identity', since, kept_held_part('orders', 'centers')) -%}
    {{ return(false) }}
  {%- endif -%}
  {{ return(table_held(kept_orders_deleted_relation(), 'orders_deleted') == [since, 'run ' ~ kept_held_part('orders', 'run')]) }}
{%- endmacro %}


{#- The records whose person may have changed since `since` (kept_orders_persons_scoped: (a), (b)
    and (c)). -#}
{% macro kept_orders_person_records(since) -%}
    select record_id from {{ kept_delta(ref('int_identity__record_centers')) }}
    union
    select c.record_id
    from {{ ref('int_identity__record_centers') }} c
    where c.center_node_id in (
        {{ registry_nodes_after(since, ref('one_id_registry')) }}
        union
        select s.node_id
        from {{ ref('int_identity__one_id_current') }} s
        where s.one_id in (
            (select one_id from {{ ref('deleted_persons') }}
             except
             select one_id from {{ kept_orders_deleted_relation() }})
            union
            (select one_id from {{ kept_orders_deleted_relation() }}
             except
             select one_id from {{ ref('deleted_persons') }})
        )
    )
{%- endmacro %}


{#- Per record of ``lines``: its line count and fingerprint. A platform or mini-program order is
    one line (record_id = its line_uid), so only POS lines (a sale with its refunds) are grouped. -#}
{% macro record_fingerprints(lines) -%}
        select record_id, count(*) as line_count, {{ rows_fingerprint('line_uid') }} as lines_fingerprint
        from {{ lines }}
        where source = 'pos'
        group by record_id
        union all
        select record_id, cast(1 as {{ dbt.type_bigint() }}) as line_count, {{ line_fingerprint('line_uid') }} as lines_fingerprint
        from {{ lines }}
        where source <> 'pos'
{%- endmacro %}


{#- The first pre-hook: the records to recompute, with their line count, fingerprint and person
    as of D: every record whose lines or person differ from the table's, and the table's records
    that have no line any more (line_count null: they are only deleted). Nothing on the full
    path. The others are the kept tables' (macros/engine/kept_tables.sql).

    When the lines' delta is a change from the lines this table was built from
    (kept_delta_from), only the records of the lines recomputed are compared by their
    lines; otherwise every record is. Persons are compared for the records whose person may have
    changed when that is known (kept_orders_persons_scoped), else for every record. -#}
{% macro kept_orders_prepare() -%}
  {%- set since = kept_orders_as_of() if execute and is_incremental() else none -%}
  {%- if since is not none -%}
    {%- set by_delta = kept_delta_from(ref('int_orders__lines'), 'lines', since, kept_held_part('orders', 'lines')) -%}
    {%- set scoped = by_delta and kept_orders_persons_scoped(since) -%}
    {%- set delta = kept_delta(ref('int_orders__lines')) -%}
    create or replace table {{ kept_changed_relation() }} as
    with
    {%- if by_delta %}
    records_ as (
        {#- the records the recomputed lines belonged to or belong to -#}
        select distinct record_id from {{ delta }}
    ),

    lines_ as (
        select *
        from {{ ref('int_orders__lines') }}
        where record_id in (select record_id from records_)
    ),

    table_ as (
        select *
        from {{ this }}
        where record_id in (select record_id from records_)
    ),
    {%- endif %}

    current_lines as (
        {{ record_fingerprints('lines_' if by_delta else ref('int_orders__lines')) }}
    ),

    {%- if scoped %}
    person_records_ as (
        {#- the records whose person may have changed -#}
        {{ kept_orders_person_records(since) }}
    ),

    {#- materialized: so that the joins start from these few records, not from every one -#}
    key_centers_ as materialized (
        select record_id, center_node_id
        from {{ ref('int_identity__record_centers') }}
        where record_id in (select record_id from records_ union select record_id from person_records_)
    ),

    others_ as materialized (
        select record_id, line_count, lines_fingerprint, one_id
        from {{ this }}
        where record_id in (select record_id from person_records_)
    ),
    {%- endif %}

    persons_ as (
        {{ order_persons('key_centers_' if scoped else none) }}
    ),

    current_orders as (
        select l.record_id, l.line_count, l.lines_fingerprint, p.one_id
        from current_lines l
        left join persons_ p
            on p.record_id = l.record_id
    )

    select
        coalesce(c.record_id, t.record_id) as record_id,
        c.line_count,
        c.lines_fingerprint,
        c.one_id
    from current_orders c
    full outer join {{ 'table_' if by_delta else this }} t
        on t.record_id = c.record_id
    where c.record_id is null
       or t.record_id is null
       or c.line_count <> t.line_count
       or c.lines_fingerprint <> t.lines_fingerprint
       or c.one_id is distinct from t.one_id
    {%- if by_delta %}

    union all

    {#- the other records: their lines are as they were; their person may not be #}
    select t.record_id, t.line_count, t.lines_fingerprint, p.one_id
    from {{ 'others_' if scoped else this }} t
    left join persons_ p
        on p.record_id = t.record_id
    left join records_ r
        on r.record_id = t.record_id
    where r.record_id is null
      and t.one_id is distinct from p.one_id
    {%- endif %}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
