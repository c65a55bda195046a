{#- int_orders__lines, every order line as of D, kept by line on DuckDB.

    A line's row is a function of its staged version (its line_uid), the store master (a
    platform shop's store_code) and, for a POS REFUND line, the SALE it names (same store,
    ref_order_no) when that sale is staged as of D: the sale gives it its record_id, order_key,
    order date and the identifiers it repeats. So a build for D recomputes only:

    - the lines that came: a line_uid staged as of D that the table lacks (a new day's line, a
      re-delivered version, a line whose business date is reached);
    - the lines that went: a line_uid of the table staged no more (replaced by another version,
      dropped with its file's re-delivery);
    - the REFUND lines naming a POS sale that came or went (attached to it, or detached).

    Whatever changed in the staging tables, comparing the line_uids finds it. When each of the
    four staging base tables hands on a delta from the very build of it the table read as of its
    D0 (macros/staging/staged_versions.sql; the table's comment names those builds), only the
    line_uids in those deltas and the staged lines with a business date after D0 are compared:
    nothing else can differ. The lines
    recomputed are handed on in int_orders__lines__delta: their rows as they were (added false)
    and as they are (added true), so the orders and the OneID graph recompute the records
    (record_id) those lines belonged to or belong to.

    The table's comment records the D it holds, the order tables' deliveries up to that D, a
    digest of the logic (this model's SQL and the store master) and the dbt invocation that
    built it: "memberflow lines as of YYYY-MM-DD deliveries <md5> logic <md5> run <invocation>".
    The delta's says what it is a change from: "memberflow lines_delta as of D from D0 run
    <invocation>" (the table as of D0 and the invocation that built it). A model that records
    having read the lines of that build as of its own D0 (kept_read_mark) may bring itself
    forward by the delta (kept_delta_from, macros/engine/kept_tables.sql); anything else reads
    the lines whole. A table of a later D, of other deliveries up to its D, or of other logic is
    emptied and refilled, and hands on no delta, as under `--full-refresh`. Spark: a plain table, rebuilt whole every build. -#}

{#- The SQL the order lines are made of: this model and the staging views it reads, as written,
    and the macros they call, as rendered. A change of any of them rebuilds the lines (and the
    orders, whose digest includes it) whole. -#}
{% macro order_lines_logic() -%}
  {%- set codes = [] -%}
  {%- for name in ['int_orders__lines', 'stg_pos__lines', 'stg_meituan__orders', 'stg_eleme__orders',
                   'stg_miniprogram__orders'] -%}
    {%- do codes.append(graph.nodes.get('model.' ~ project_name ~ '.' ~ name, {}).get('raw_code', '')) -%}
  {%- endfor -%}
  {%- do codes.append(fen_to_yuan('x') ~ dbt.concat(['a', 'b']) ~ dbt.type_string()) -%}
  {{ return(codes | join('|')) }}
{%- endmacro %}


{#- A digest of what the rows mean besides their staged versions: the lines' SQL
    (order_lines_logic), the platform shops' stores and the version of the kept path (raise it
    when the macros below change, so that every table is rebuilt once). -#}
{% macro kept_lines_logic_digest() -%}
  {{ return(local_md5(order_lines_logic() ~ '|' ~ store_master_digest() ~ '|1')) }}
{%- endmacro %}


{#- What the table holds besides its D and the invocation: the deliveries up to `through` and
    the logic. -#}
{% macro kept_lines_state(through) -%}
  {{ return(staged_state(kept_orders_tables(), through) ~ ' logic ' ~ kept_lines_logic_digest()) }}
{%- endmacro %}


{#- What the table built in this invocation holds besides its D: its state, the invocation and
    the builds of the staging base tables it read ("<base model> <invocation>" each). -#}
{% macro kept_lines_built_state(through) -%}
  {%- set reads = [] -%}
  {%- for name in kept_lines_bases() -%}
    {%- do reads.append(kept_read_mark(name, since_last_pass_relation(name), 'staged')) -%}
  {%- endfor -%}
  {{ return(kept_lines_state(through) ~ ' run ' ~ invocation_id ~ ' ' ~ reads | join(' ')) }}
{%- endmacro %}


{#- The staging base tables under the order lines. -#}
{% macro kept_lines_bases() -%}
  {{ return(['base_pos__lines', 'base_meituan__orders', 'base_eleme__orders', 'base_miniprogram__orders']) }}
{%- endmacro %}


{#- The four base tables' deltas, when each is a change from the build of it this table read as
    of `since`; none otherwise. -#}
{% macro kept_lines_staged_deltas(since) -%}
  {%- set deltas = [] -%}
  {%- for name in kept_lines_bases() -%}
    {%- set base = since_last_pass_relation(name) -%}
    {%- if not kept_delta_from(base, 'staged', since, kept_held_part('lines', name)) -%}
      {{ return(none) }}
    {%- endif -%}
    {%- do deltas.append(kept_delta(base)) -%}
  {%- endfor -%}
  {{ return(deltas) }}
{%- endmacro %}


{#- The D the existing table holds when it can be brought forward to this build's D; none
    otherwise (no table, not incremental, a later D, other deliveries up to its D, other
    logic). -#}
{% macro kept_lines_as_of() -%}
  {%- set held = kept_held_before_run('lines') -%}
  {%- if held is not none and held[1] == kept_lines_state(held[0]) -%}
    {{ return(held[0]) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- The first pre-hook after kept_delta_drop: when brought forward, list the line_uids to
    recompute in the work table: the lines that came or went and the REFUND lines naming a POS
    sale that came or went. -#}
{% macro kept_lines_prepare(since) -%}
  {%- if keeps_tables() and is_incremental() and since is not none -%}
    {%- set deltas = kept_lines_staged_deltas(since) %}
    {%- set staged = [(ref('stg_pos__lines'), "order_type in ('SALE', 'REFUND')"), (ref('stg_meituan__orders'), none),
                      (ref('stg_eleme__orders'), none), (ref('stg_miniprogram__orders'), none)] %}
    create or replace table {{ kept_changed_relation() }} as
    with
    {%- if deltas is not none %}
    candidates_ as (
        {#- what can differ: the base tables' deltas, the lines the business-date filter let in -#}
        {%- for delta in deltas %}
        select line_uid from {{ delta }}
        union all
        {%- endfor %}
        {%- for relation, _ in staged %}
        select line_uid from {{ relation }} where {{ staged_dated_since(since) }}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ),
    {%- endif %}

    now_ as (
        {%- for relation, where in staged %}
        select line_uid from {{ relation }}
        {%- set conditions = ([where] if where else []) + (['line_uid in (select line_uid from candidates_)'] if deltas is not none else []) %}
        {%- if conditions %} where {{ conditions | join(' and ') }}{% endif %}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ),

    compared_ as (
        {#- one join both ways, on line_uid alone: the table's lines staged no more, the staged
            lines it lacks -#}
        select t.line_uid as went_uid, n.line_uid as came_uid
        from now_ n
        full outer join (
            select line_uid from {{ this }}
            {%- if deltas is not none %} where line_uid in (select line_uid from candidates_){% endif %}
        ) t
            on t.line_uid = n.line_uid
        where t.line_uid is null
           or n.line_uid is null
    ),

    went_ as (
        select line_uid, source, store_code, line_role, line_id
        from {{ this }}
        where line_uid in (select went_uid from compared_ where went_uid is not null)
    ),

    came_ as (
        select came_uid as line_uid
        from compared_
        where came_uid is not null
    ),

    sales_ as (
        select store_code, line_id as order_no
        from went_
        where source = 'pos' and line_role = 'sale'
        union
        select store_code, order_no
        from {{ ref('stg_pos__lines') }}
        where order_type = 'SALE'
          and line_uid in (select line_uid from came_)
    ),

    reattached_ as (
        select r.line_uid
        from {{ ref('stg_pos__lines') }} r
        inner join sales_ s
            on s.store_code = r.store_code
           and s.order_no = r.ref_order_no
        where r.order_type = 'REFUND'
    )

    select line_uid from went_
    union
    select line_uid from came_
    union
    select line_uid from reattached_
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
