{#- The OneID graph's tables kept by what a day changes (DuckDB).

    A day changes a few ten thousand of ten million records, so on DuckDB the graph's tables are
    brought forward from the D they hold instead of being rebuilt: each build recomputes only
    the rows a change can reach, and each table hands the next one what it changed (a delta
    relation beside it, `<table>__delta`, kept until the next build):

    - int_identity__occurrences: the (record, identifier) rows as of D compared with the table's
      (by record_id and node_id); the delta lists every row that went, came or changed. Whatever
      caused it (a new day, a late refund, a re-delivered file, renumbered line_uids), the
      comparison finds it; a record whose rows differ is a changed record.
    - int_identity__nodes: recomputed for the identifiers in the delta (a node's row is an
      aggregate of its own rows).
    - int_identity__excluded_nodes: recomputed for every identifier of a changed record, old or
      new (whether an identifier is junk depends on its records only; the blocklist and limits
      are part of the logic); the delta lists the identifiers excluded or admitted again.
    - int_identity__record_centers: recomputed for the changed records and the records of those
      identifiers; the delta lists the records whose centre changed.
    - int_identity__edges: recomputed for every identifier of changed records, of records whose
      centre changed, and those excluded or admitted (an identifier's edges are an aggregate over
      its records' centres); the delta lists every edge that went or came.
    - int_identity__components: recomputed for the identifiers touched (in any delta above) and
      every identifier of their components as of D0, over those identifiers' edges only; the
      delta lists them.
    - identity.one_id_registry compares only the identifiers in the components' delta, and
      int_identity__one_id_current looks up again only the identifiers the registry wrote rows
      for (their own conditions: macros identity_registry_scope and identity_current_as_of).

    A table is brought forward only when the whole chain held the same D and logic at the start
    of the build and was last built in one dbt invocation (checked by the occurrences, the first
    of them), and each table and delta it reads was made in this build from that D; otherwise every table of the chain is rebuilt whole, as under
    `--full-refresh`. The logic is the chain's SQL, the identifier types and the identity
    settings (blocklist, limits): changing any of them rebuilds the chain. A rerun of the same D
    finds an empty delta. Spark: plain tables, rebuilt whole every build. Tested against builds
    from scratch in tests/identity/test_identity.py. -#}

{% macro identity_kept_models() -%}
  {{ return(['int_identity__occurrences', 'int_identity__nodes', 'int_identity__excluded_nodes',
             'int_identity__record_centers', 'int_identity__edges', 'int_identity__components']) }}
{%- endmacro %}


{#- What this chain table holds ([D, state], from its comment) when it may be brought forward:
    DuckDB, an existing table, no full refresh, a D not later than this build's. The components
    are not an incremental model (their own materialization), so this is not this_table_held. -#}
{% macro identity_held() -%}
  {%- if not keeps_tables() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if model.config.materialized == 'incremental' -%}
    {{ return(this_table_held('identity')) }}
  {%- endif -%}
  {%- if should_full_refresh() or load_relation(this) is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set held = table_held(this, 'identity') -%}
  {%- if held is not none and held[0] <= run_value('as_of_date') -%}
    {{ return(held) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- A chain table's relation by model name (they share this model's schema). -#}
{% macro identity_relation(name, suffix='') -%}
  {{ return(this.incorporate(path={"identifier": name ~ suffix})) }}
{%- endmacro %}


{#- What the chain's tables hold besides their D: a digest of the logic: the models' SQL, the
    identifier types, the identity settings, the exclusions', centres' and edges' SQL whole and
    scoped, and identity_kept_version(). -#}
{% macro identity_kept_state() -%}
  {%- set codes = [] -%}
  {%- for name in identity_kept_models() -%}
    {%- do codes.append(graph.nodes.get('model.' ~ project_name ~ '.' ~ name, {}).get('raw_code', '')) -%}
  {%- endfor -%}
  {%- set types = [] -%}
  {%- for t in identifier_types() -%}
    {%- do types.append(t.code ~ ':' ~ t.name ~ ':' ~ t.order_column ~ ':' ~ t.event_column) -%}
  {%- endfor -%}
  {%- set sql = [] -%}
  {%- for scope in [none, 'scope_'] -%}
    {%- do sql.append(identity_excluded_sql('nodes_', 'occurrences_', scope)) -%}
    {%- do sql.append(identity_centers_sql('occurrences_', 'excluded_', scope)) -%}
    {%- do sql.append(identity_edges_sql('occurrences_', 'centers_', 'excluded_', scope)) -%}
  {%- endfor -%}
  {{ return('logic ' ~ local_md5(codes | join('|') ~ '|' ~ types | join(',') ~ '|' ~ sql | join('|')
                                 ~ '|' ~ cfg('max_linked_values') ~ '|' ~ cfg('max_orders_per_day')
                                 ~ '|' ~ tojson(cfg('blocklist') or []) ~ '|' ~ identity_kept_version())) }}
{%- endmacro %}


{#- The version of the brought-forward path (the prepare macros below, the connected_components
    algorithm): raise it when they change, so that every chain table is rebuilt once. -#}
{% macro identity_kept_version() -%}
  {{ return(3) }}
{%- endmacro %}


{#- For int_identity__occurrences: the D the chain can be brought forward from (every table of
    it holds that D and this logic); none otherwise. -#}
{% macro identity_chain_as_of() -%}
  {%- set held = identity_held() -%}
  {%- if held is none or identity_logic(held[1]) != identity_kept_state() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- for name in identity_kept_models() if name != this.identifier -%}
    {%- if table_held(identity_relation(name), 'identity') != held -%}
      {{ return(none) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(held[0]) }}
{%- endmacro %}


{#- The chain tables each of the others reads (the occurrences read none of them). -#}
{% macro identity_reads() -%}
  {{ return({
      'int_identity__nodes': ['int_identity__occurrences'],
      'int_identity__excluded_nodes': ['int_identity__occurrences', 'int_identity__nodes'],
      'int_identity__record_centers': ['int_identity__occurrences', 'int_identity__excluded_nodes'],
      'int_identity__edges': ['int_identity__occurrences', 'int_identity__excluded_nodes', 'int_identity__record_centers'],
      'int_identity__components': ['int_identity__occurrences', 'int_identity__nodes', 'int_identity__excluded_nodes',
                                   'int_identity__edges'],
  }[this.identifier]) }}
{%- endmacro %}


{#- For the other tables of the chain: the D this table can be brought forward from: it holds
    that D and the logic, each chain table it reads (identity_reads) was built in this build,
    and each delta it reads was made from that D (every chain table but the nodes hands one
    on). -#}
{% macro identity_kept_as_of() -%}
  {%- set held = identity_held() -%}
  {%- if held is none or identity_logic(held[1]) != identity_kept_state() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- for name in identity_reads() -%}
    {%- if table_held(identity_relation(name), 'identity') != [run_value('as_of_date'), identity_built_state()]
           or (name != 'int_identity__nodes'
               and table_held(identity_relation(name, '__delta'), 'identity_delta') != [run_value('as_of_date'), identity_delta_base(held[0], held)]) -%}
      {{ return(none) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(held[0]) }}
{%- endmacro %}


{#- The delta relation of this model. -#}
{% macro identity_delta() -%}
  {{ return(kept_delta(this)) }}
{%- endmacro %}


{#- Pre-hook: make this model's delta (`sql`) when the table is brought forward from `since`,
    and say so in its comment ("memberflow identity_delta as of D from D0 run <invocation>": the
    table's D and build before this one, what the delta is a change from). -#}
{% macro identity_delta_create(since, sql) -%}
  {%- if keeps_tables() and since is not none -%}
    create table {{ identity_delta() }} as {{ sql }};
    comment on table {{ identity_delta() }} is 'memberflow identity_delta as of {{ run_value("as_of_date") }} {{ identity_delta_base(since, identity_held()) }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- Post-hook: record the D the table now holds and the logic. -#}
{% macro identity_mark() -%}
  {{ return(kept_mark('identity', identity_built_state() if keeps_tables() else '')) }}
{%- endmacro %}


{#- What a chain table built in this dbt invocation holds besides its D: the logic and the
    invocation ("logic <md5> run <invocation_id>"). The chain is brought forward only when all
    its tables were last built in one invocation: a table rebuilt alone for the same D (with
    other pairs, say, after an old day's file was ingested again) would otherwise leave the
    tables after it short of that change. -#}
{% macro identity_built_state() -%}
  {{ return(identity_kept_state() ~ ' run ' ~ invocation_id) }}
{%- endmacro %}


{#- The logic part of a chain table's state. -#}
{% macro identity_logic(state) -%}
  {{ return(state.split(' run ')[0]) }}
{%- endmacro %}


{#- The word after `key` in a state ("... run <invocation> ..."); none when absent. -#}
{% macro identity_state_part(state, key) -%}
  {%- set words = (state or '').split(' ') -%}
  {%- for i in range(words | length - 1) -%}
    {%- if words[i] == key -%}
      {{ return(words[i + 1]) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(none) }}
{%- endmacro %}


{#- What a delta is a change from: "from <D0> run <invocation that built the table as of D0>",
    given the D0 and the [D0, state] the table held. -#}
{% macro identity_delta_base(since, held) -%}
  {{ return('from ' ~ since ~ ' run ' ~ identity_state_part(held[1] if held is not none else '', 'run')) }}
{%- endmacro %}


{#- The identifiers of the records changed since the table's D, as they are now and as they
    were (the occurrences' delta holds the rows that went). -#}
{% macro identity_changed_record_nodes() -%}
    select o.node_id
    from {{ ref('int_identity__occurrences') }} o
    where o.record_id in (select record_id from {{ identity_relation('int_identity__occurrences', '__delta') }})
    union
    select node_id
    from {{ identity_relation('int_identity__occurrences', '__delta') }}
    where removed
{%- endmacro %}


{#- int_identity__occurrences: the model's rows as of D (the whole table); with `records` (a
    relation with a record_id column), the rows of those orders and of every member event, or
    with `events` too, of those member events (their line_uids as record_id). -#}
{% macro identity_occurrences(records=none, events=none) -%}
{%- set types = identifier_types() %}
with identifier_types as (
    {%- for t in types %}
    select {{ t.code }} as type_code
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

records as (
    select
        record_id,
        true as is_order,
        case when line_role = 'refund' and line_id <> order_id then true else false end as from_extra_line,
        order_business_date as business_date,
        {%- for t in types %}
        {{ identifier_node_id(t.order_column) }} as node_{{ t.code }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_orders__lines') }}
    {%- if records is not none %}
    where record_id in (select record_id from {{ records }})
    {%- endif %}

    union all

    select
        line_uid as record_id,
        false as is_order,
        false as from_extra_line,
        business_date,
        {%- for t in types %}
        {%- if t.event_column %}
        {{ identifier_node_id(t.event_column) }} as node_{{ t.code }}{{ "," if not loop.last }}
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as node_{{ t.code }}{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from {{ ref('stg_miniprogram__member_events') }}
    {%- if events is not none %}
    where line_uid in (select record_id from {{ events }})
    {%- endif %}
),

occurrences as (
    {#- one pass over the records: each record × each identifier type, kept where present -#}
    select
        r.record_id,
        r.is_order,
        r.from_extra_line,
        r.business_date,
        t.type_code,
        case t.type_code
            {%- for t in types %}
            when {{ t.code }} then r.node_{{ t.code }}
            {%- endfor %}
        end as node_id
    from records r
    cross join identifier_types t
)

{#- an identifier from a refund line is listed once: two refund lines of a sale may bring the
    same new value -#}
{%- for extra in [false, true] %}
select {{ 'distinct' if extra }}
    record_id,
    is_order,
    from_extra_line,
    business_date,
    cast(type_code as {{ dbt.type_int() }}) as type_code,
    node_id
from occurrences
where node_id is not null
  and {{ '' if extra else 'not ' }}from_extra_line
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- endmacro %}


{#- int_identity__occurrences: the rows that differ between D and the table, by (record_id,
    node_id): removed = the table's row goes, added = the row as of D comes (both when it
    changed). When the lines' delta is a change from the lines the chain was built from
    (kept_delta_from), only the orders of the lines recomputed and the member events are
    compared; otherwise every record is.

    The member events are compared by line_uid when the member feed's deliveries up to the
    chain's D0 are the ones the table was built from (int_identity__occurrences__events holds
    their digest, macro identity_occurrence_events_mark): a line_uid then names the same raw row
    as it did (its delivery day, its file's rank among that day's files, its line), whose
    occurrences never change, so only the events whose line_uid came or went are compared (at
    1 M members 1.4 M occurrences of 0.4 M events were, every day). A file delivered late into
    an old folder, or a new identifier key, changes that digest: then every event is. -#}
{% macro identity_occurrences_delta() -%}
  {%- set since = identity_chain_as_of() -%}
  {%- set by_delta = since is not none
        and kept_delta_from(ref('int_orders__lines'), 'lines', since, identity_state_part(identity_held()[1], 'run')) -%}
  {%- set records = kept_delta(ref('int_orders__lines')) if by_delta else none -%}
  {%- set by_events = by_delta
        and table_held(identity_occurrence_events(), 'occurrence_events') == [since, staged_state('miniprogram_members', since)] %}
    with
    {%- if by_events %}
    events_ as (
        {#- the member events that came or went since D0 -#}
        select record_id from (
            select line_uid as record_id from {{ ref('stg_miniprogram__member_events') }}
            except
            select record_id from {{ this }} where not is_order
        ) came_
        union all
        select record_id from (
            select record_id from {{ this }} where not is_order
            except
            select line_uid as record_id from {{ ref('stg_miniprogram__member_events') }}
        ) went_
    ),
    {%- endif %}

    now_ as (
        {{ identity_occurrences(records, 'events_' if by_events else none) | indent(8) }}
    )

    {#- distinct: should a record list one node under two types (two identifier types hashing
        alike), each of its rows would meet both of the table's -#}
    select distinct
        coalesce(n.record_id, o.record_id) as record_id,
        coalesce(n.node_id, o.node_id) as node_id,
        n.is_order,
        n.from_extra_line,
        n.business_date,
        n.type_code,
        o.record_id is not null as removed,
        n.record_id is not null as added
    from now_ n
    full outer join (
        select *
        from {{ this }}
        {%- if by_events %}
        where (not is_order and record_id in (select record_id from events_))
           or (is_order and record_id in (select record_id from {{ records }}))
        {%- elif by_delta %}
        where not is_order
           or record_id in (select record_id from {{ records }})
        {%- endif %}
    ) o
        on o.record_id = n.record_id
       and o.node_id = n.node_id
    where o.record_id is null
       or n.record_id is null
       or o.is_order <> n.is_order
       or o.from_extra_line <> n.from_extra_line
       or o.business_date is distinct from n.business_date
       or o.type_code <> n.type_code
{%- endmacro %}


{#- int_identity__occurrences__events: an empty table whose comment holds the member feed's
    deliveries up to the D the occurrences were built for ("memberflow occurrence_events as of
    D deliveries <md5>"), written by the occurrences' post-hook. -#}
{% macro identity_occurrence_events() -%}
  {{ return(identity_relation('int_identity__occurrences', '__events')) }}
{%- endmacro %}

{% macro identity_occurrence_events_mark() -%}
  {%- if keeps_tables() -%}
    create table if not exists {{ identity_occurrence_events() }} (as_of date);
    comment on table {{ identity_occurrence_events() }} is 'memberflow occurrence_events as of {{ run_value("as_of_date") }} {{ staged_state("miniprogram_members", run_value("as_of_date")) }}'
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- int_identity__occurrences' pre-hook: delete the rows that went or changed. -#}
{% macro identity_occurrences_reset(since) -%}
  {%- if execute and is_incremental() and since is not none -%}
    delete from {{ this }} t
    using {{ identity_delta() }} d
    where d.removed
      and t.record_id = d.record_id
      and t.node_id = d.node_id
  {%- else -%}
    {{ kept_reset_where(since, none) }}
  {%- endif -%}
{%- endmacro %}


{#- int_identity__excluded_nodes: its rows, for the identifiers in `scope` (a relation with a
    node_id column) or for all (none). An identifier's reasons depend on its own records only. -#}
{% macro identity_excluded_sql(nodes_relation, occurrences_relation, scope=none) -%}
{%- set max_linked = cfg('max_linked_values') | int -%}
{%- set max_orders = cfg('max_orders_per_day') | int -%}
{%- set blocklist = cfg('blocklist') or [] -%}
with nodes as (
    select node_id, identifier_type, record_count from {{ nodes_relation }}
    {%- if scope is not none %}
    where node_id in (select node_id from {{ scope }})
    {%- endif %}
),

blocklist as (
    {%- if blocklist %}
    {%- for item in blocklist %}
    select '{{ item["type"] }}' as identifier_type, {{ identifier_node_id("'" ~ item["hash"] ~ "'") }} as node_id
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as identifier_type,
           cast(null as {{ dbt.type_bigint() }}) as node_id
    from nodes
    where 1 = 0
    {%- endif %}
),

blocked_all as (
    {#- every blocklisted identifier, in scope or not: none of them links anything -#}
    select distinct n.node_id
    from {{ nodes_relation }} n
    inner join blocklist b
        on b.identifier_type = n.identifier_type
       and b.node_id = n.node_id
),

blocked as (
    select node_id
    from blocked_all
    {%- if scope is not none %}
    where node_id in (select node_id from nodes)
    {%- endif %}
),

occurrences as (
    select o.record_id, o.is_order, o.from_extra_line, o.business_date, o.node_id, o.type_code
    from {{ occurrences_relation }} o
    left join blocked_all b
        on b.node_id = o.node_id
    where b.node_id is null
    {%- if scope is not none %}
      {#- every row read below is one of a record holding an identifier in scope: all the rows
          of those records, not the 15 M of every record (1 M members) #}
      and o.record_id in (
          select s.record_id
          from {{ occurrences_relation }} s
          where s.node_id in (select node_id from {{ scope }})
      )
    {%- endif %}
),

records_with_extra_lines as (
    select distinct record_id
    from occurrences
    where from_extra_line
),

link_candidates as (
    select node_id
    from nodes
    where record_count > {{ max_linked }}
    union
    select o.node_id
    from occurrences o
    inner join records_with_extra_lines r
        on r.record_id = o.record_id
    {%- if scope is not none %}
    where o.node_id in (select node_id from {{ scope }})
    {%- endif %}
),

candidate_occurrences as (
    select o.record_id, o.node_id, o.type_code
    from occurrences o
    inner join link_candidates c
        on c.node_id = o.node_id
),

too_many_linked as (
    select
        a.node_id,
        b.type_code as linked_type_code,
        count(distinct b.node_id) as linked_values
    from candidate_occurrences a
    inner join occurrences b
        on b.record_id = a.record_id
       and b.type_code <> a.type_code
    group by a.node_id, b.type_code
    having count(distinct b.node_id) > {{ max_linked }}
),

too_many_orders as (
    select o.node_id, o.business_date, count(distinct o.record_id) as orders
    from occurrences o
    inner join nodes n
        on n.node_id = o.node_id
    where o.is_order
      and n.record_count > {{ max_orders }}
    group by o.node_id, o.business_date
    having count(distinct o.record_id) > {{ max_orders }}
),

reasons as (
    select
        node_id,
        1 as priority,
        0 as severity,
        'blocklist' as reason,
        'on the configured blocklist (memberflow.yaml, identity)' as reason_detail
    from blocked
    union all
    select
        node_id,
        2 as priority,
        linked_values as severity,
        'too_many_linked_values' as reason,
        {{ dbt.concat([
            "'linked to '", dbt.safe_cast('linked_values', dbt.type_string()), "' distinct '",
            identifier_type_name('linked_type_code'), "' values (limit " ~ max_linked ~ ")'"]) }} as reason_detail
    from too_many_linked
    union all
    select
        node_id,
        3 as priority,
        orders as severity,
        'too_many_orders_per_day' as reason,
        {{ dbt.concat([
            "'on '", dbt.safe_cast('orders', dbt.type_string()), "' orders on '",
            dbt.safe_cast('business_date', dbt.type_string()), "' (limit " ~ max_orders ~ " a day)'"]) }} as reason_detail
    from too_many_orders
),

ranked as (
    select
        *,
        row_number() over (
            partition by node_id order by priority, severity desc, reason_detail
        ) as reason_rank
    from reasons
)

select node_id, reason, reason_detail
from ranked
where reason_rank = 1
{%- endmacro %}


{#- A work table of this model's build, dropped by its post-hook. -#}
{% macro identity_work(name) -%}
  {{ return(identity_relation(this.identifier, '__' ~ name)) }}
{%- endmacro %}

{% macro identity_work_drop(names) -%}
  {%- if keeps_tables() -%}
    {%- for name in names %}
    drop table if exists {{ identity_work(name) }};
    {%- endfor %}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- The config of a chain table recomputed through work tables (the exclusions, centres and
    edges): its delta of the last build dropped, the rows of `key` in the work table `scope`
    recomputed by the macro `prepare` into the work table `recomputed` (which the model then
    selects), the work tables dropped, the mark set. -#}
{% macro identity_recomputed_config(prepare, key) -%}
  {%- do config(
      materialized=staging_materialization(),
      incremental_strategy='append',
      on_schema_change='fail',
      pre_hook=["{{ kept_delta_drop() }}",
                "{{ " ~ prepare ~ "(identity_kept_as_of()) }}",
                "{{ kept_reset_where(identity_kept_as_of(), '" ~ key ~ " in (select " ~ key ~ " from ' ~ identity_work('scope') ~ ')') }}"],
      post_hook=["{{ identity_work_drop(['scope', 'recomputed']) }}", "{{ identity_mark() }}"],
  ) -%}
{%- endmacro %}


{#- int_identity__excluded_nodes' pre-hook: the identifiers to recompute (scope), their rows
    (recomputed) and the delta: those whose exclusion came or went. -#}
{% macro identity_excluded_prepare(since) -%}
  {%- if keeps_tables() and since is not none -%}
    create or replace table {{ identity_work('scope') }} as
    {{ identity_changed_record_nodes() }};

    create or replace table {{ identity_work('recomputed') }} as
    {{ identity_excluded_sql(ref('int_identity__nodes'), ref('int_identity__occurrences'), identity_work('scope')) }};

    {{ identity_delta_create(since,
        'select coalesce(o.node_id, n.node_id) as node_id from (select node_id from ' ~ this
        ~ ' where node_id in (select node_id from ' ~ identity_work('scope') ~ ')) o full outer join '
        ~ identity_work('recomputed') ~ ' n on n.node_id = o.node_id where o.node_id is null or n.node_id is null') }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- int_identity__record_centers: the centres of the records in `scope` (a relation with a
    record_id column), or of all (none). -#}
{% macro identity_centers_sql(occurrences_relation, excluded_relation, scope=none) -%}
select
    o.record_id,
    min(o.node_id) as center_node_id
from {{ occurrences_relation }} o
left join {{ excluded_relation }} x
    on x.node_id = o.node_id
where x.node_id is null
{%- if scope is not none %}
  and o.record_id in (select record_id from {{ scope }})
{%- endif %}
group by o.record_id
{%- endmacro %}


{#- The records whose centre a build brought forward recomputes: the changed ones (the
    occurrences' delta) and those of an identifier excluded or admitted again (the exclusions'
    delta). Every other record's centre is the one the table held: its identifiers and their
    exclusions are as they were. Also what record_centers' unique test reads
    (identity_centers_recomputed_rows). -#}
{% macro identity_centers_scope(occurrences, occurrences_delta, excluded_delta) -%}
    select record_id from {{ occurrences_delta }}
    union
    select o.record_id
    from {{ occurrences }} o
    where o.node_id in (select node_id from {{ excluded_delta }})
{%- endmacro %}


{#- int_identity__record_centers' pre-hook: the records to recompute (identity_centers_scope),
    their centres, and the delta: the records whose centre changed, came or went. -#}
{% macro identity_centers_prepare(since) -%}
  {%- if keeps_tables() and since is not none -%}
    create or replace table {{ identity_work('scope') }} as
    {{ identity_centers_scope(ref('int_identity__occurrences'),
                              identity_relation('int_identity__occurrences', '__delta'),
                              identity_relation('int_identity__excluded_nodes', '__delta')) }};

    create or replace table {{ identity_work('recomputed') }} as
    {{ identity_centers_sql(ref('int_identity__occurrences'), ref('int_identity__excluded_nodes'), identity_work('scope')) }};

    {{ identity_delta_create(since,
        'select coalesce(o.record_id, n.record_id) as record_id, o.center_node_id as old_center_node_id, '
        ~ 'n.center_node_id as center_node_id from (select * from ' ~ this
        ~ ' where record_id in (select record_id from ' ~ identity_work('scope') ~ ')) o full outer join '
        ~ identity_work('recomputed') ~ ' n on n.record_id = o.record_id '
        ~ 'where o.center_node_id is distinct from n.center_node_id') }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- For record_centers' unique test (macros/engine/tests_since_pass.sql, option `rows`): the
    records a build brought forward rewrote, given since_last_pass_delta's [the centres' delta,
    D0]. The centres' delta lists only the records whose centre changed; the records rewritten
    with the same centre are the rest of identity_centers_scope, whose two deltas this build
    made beside the centres' (identity_kept_as_of: the centres are brought forward only then). -#}
{% macro identity_centers_recomputed_rows(found) -%}
  {%- set occurrences = since_last_pass_relation('int_identity__occurrences') -%}
  {{ return('record_id in (' ~ identity_centers_scope(occurrences, kept_delta(occurrences),
                                                      kept_delta(since_last_pass_relation('int_identity__excluded_nodes'))) ~ ')') }}
{%- endmacro %}


{#- int_identity__edges: the edges of the identifiers in `scope` (a relation with a node_id
    column), or of all (none). -#}
{% macro identity_edges_sql(occurrences_relation, centers_relation, excluded_relation, scope=none) -%}
select
    o.node_id,
    c.center_node_id as linked_node_id,
    count(*) as record_count,
    min(o.business_date) as first_seen_date,
    max(o.business_date) as last_seen_date
from {{ occurrences_relation }} o
inner join {{ centers_relation }} c
    on c.record_id = o.record_id
left join {{ excluded_relation }} x
    on x.node_id = o.node_id
where x.node_id is null
  and o.node_id <> c.center_node_id
{%- if scope is not none %}
  and o.node_id in (select node_id from {{ scope }})
{%- endif %}
group by o.node_id, c.center_node_id
{%- endmacro %}


{#- int_identity__edges' pre-hook: the identifiers to recompute (those of changed records, of
    records whose centre changed, and those excluded or admitted again), their edges, and the
    delta: every edge that went (removed) or came (added). -#}
{% macro identity_edges_prepare(since) -%}
  {%- if keeps_tables() and since is not none -%}
    {%- set excluded_delta = identity_relation('int_identity__excluded_nodes', '__delta') -%}
    {%- set centers_delta = identity_relation('int_identity__record_centers', '__delta') -%}
    create or replace table {{ identity_work('scope') }} as
    {{ identity_changed_record_nodes() }}
    union
    select node_id from {{ excluded_delta }}
    union
    select o.node_id
    from {{ ref('int_identity__occurrences') }} o
    where o.record_id in (select record_id from {{ centers_delta }});

    create or replace table {{ identity_work('recomputed') }} as
    {{ identity_edges_sql(ref('int_identity__occurrences'), ref('int_identity__record_centers'), ref('int_identity__excluded_nodes'), identity_work('scope')) }};

    {{ identity_delta_create(since,
        'select coalesce(o.node_id, n.node_id) as node_id, coalesce(o.linked_node_id, n.linked_node_id) as linked_node_id, '
        ~ 'n.node_id is null as removed, o.node_id is null as added from (select node_id, linked_node_id from ' ~ this
        ~ ' where node_id in (select node_id from ' ~ identity_work('scope') ~ ')) o full outer join (select node_id, linked_node_id from '
        ~ identity_work('recomputed') ~ ') n on n.node_id = o.node_id and n.linked_node_id = o.linked_node_id '
        ~ 'where o.node_id is null or n.node_id is null') }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- int_identity__components: the nodes to recompute: those the day touched (in the delta of the
    occurrences, of the excluded nodes or of the edges) and every node of their components as of
    the table's D. An edge of such a node that did not change joins two nodes of one old
    component, and an edge that changed has both ends touched, so the nodes' edges stay among
    them and their components can be computed apart from the rest. -#}
{% macro identity_components_prepare(since) -%}
  {%- if keeps_tables() and since is not none -%}
    create or replace table {{ identity_work('scope') }} as
    with touched as (
        select node_id from {{ identity_relation('int_identity__occurrences', '__delta') }}
        union
        select node_id from {{ identity_relation('int_identity__excluded_nodes', '__delta') }}
        union
        select node_id from {{ identity_relation('int_identity__edges', '__delta') }}
        union
        select linked_node_id from {{ identity_relation('int_identity__edges', '__delta') }}
    )

    select node_id from touched
    union
    select c.node_id
    from {{ this }} c
    where c.component_id in (
        select t.component_id
        from {{ this }} t
        where t.node_id in (select node_id from touched)
    );

    {{ identity_delta_create(since, 'select node_id from ' ~ identity_work('scope')) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{#- For the connected_components materialization (config kept_where): the rows to replace. -#}
{% macro identity_components_kept_where() -%}
  {%- if identity_kept_as_of() is not none -%}
    {{ return('node_id in (select node_id from ' ~ identity_work('scope') ~ ')') }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- identity.one_id_registry: the relation of the identifiers to compare (the components'
    delta) when the registry holds an earlier day D0 than this build's and the components were
    brought forward in this build from the very table the registry was last built on (its D0
    and build); none otherwise (then every identifier is compared). -#}
{% macro identity_registry_scope() -%}
  {%- set held = this_table_held('identity') if keeps_tables() else none -%}
  {%- if held is none or not held[1].startswith('registry ') or held[0] >= run_value('as_of_date') -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set relation = ref('int_identity__components') -%}
  {%- set delta = relation.incorporate(path={"identifier": relation.identifier ~ "__delta"}) -%}
  {%- set base = 'from ' ~ held[0] ~ ' run ' ~ identity_state_part(held[1], 'components') -%}
  {%- if table_held(delta, 'identity_delta') != [run_value('as_of_date'), base]
         or table_held(relation, 'identity') != [run_value('as_of_date'), identity_built_state()] -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(delta) }}
{%- endmacro %}


{#- identity.one_id_registry's post-hook: the D it now holds, what it held before this build
    (its D and build: rows after that D are the only ones this build may have changed), the
    build of the components it was built on, and this build: "registry after <D0> prev
    <invocation> components <invocation> run <invocation>". -#}
{% macro identity_registry_mark() -%}
  {%- if not keeps_tables() -%}
    {{ return(kept_mark('identity', '')) }}
  {%- endif -%}
  {%- set before = table_held(this, 'identity') -%}
  {%- set components = table_held(ref('int_identity__components'), 'identity') -%}
  {{ return(kept_mark('identity', 'registry after ' ~ (before[0] if before is not none else 'none')
                                  ~ ' prev ' ~ identity_state_part(before[1] if before is not none else '', 'run')
                                  ~ ' components ' ~ identity_state_part(components[1] if components is not none else '', 'run')
                                  ~ ' run ' ~ invocation_id)) }}
{%- endmacro %}


{#- int_identity__one_id_current: the D it can be brought forward from: it holds D0, an earlier
    day than this build's, it was built by this SQL (identity_current_logic), and the registry
    was built in this build on exactly the registry this table was last built from (as of D0,
    that build: so only its rows after D0, this build's, changed); none otherwise. -#}
{% macro identity_current_as_of() -%}
  {%- set held = this_table_held('identity') if keeps_tables() else none -%}
  {%- if held is none or not held[1].startswith('one_id_current ') or held[0] >= run_value('as_of_date')
         or identity_state_part(held[1], 'logic') != identity_current_logic() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set registry = registry_brought_forward(ref('one_id_registry'), held[0], identity_state_part(held[1], 'registry'),
                                              run_value('as_of_date')) -%}
  {%- if registry is none or identity_state_part(registry[1], 'run') != invocation_id -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(held[0]) }}
{%- endmacro %}


{#- What the registry (`registry`, its relation) holds ([D, state]) when it holds `as_of` and was
    brought forward from the registry built by `prev` as of `since` ("after <since> prev
    <prev>"): then its rows up to `since` are that build's, and only rows after `since` are new.
    None otherwise. -#}
{% macro registry_brought_forward(registry, since, prev, as_of) -%}
  {%- set held = table_held(registry, 'identity') -%}
  {%- if held is not none and held[0] == as_of
         and identity_state_part(held[1], 'after') == since
         and identity_state_part(held[1], 'prev') == prev -%}
    {{ return(held) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- The build of the registry that int_identity__one_id_current (`current`, its relation) was
    built from, as its comment says; none when unknown. -#}
{% macro one_id_current_registry(current) -%}
  {%- set held = table_held(current, 'identity') -%}
  {{ return(identity_state_part(held[1], 'registry') if held is not none else none) }}
{%- endmacro %}


{#- Whether, as of `as_of`, the identifiers whose one_id differs from what one_id_current gave
    when it was built from the registry build `registry_run` as of `since` are exactly those
    with a registry row after `since` (registry_nodes_after): the registry was brought forward
    from that build (registry_brought_forward) and one_id_current (`current`) holds `as_of`,
    built from the registry as it is. Never on a rerun of the same D (the registry then
    rewrites D's own rows). -#}
{% macro one_ids_changed_only_after(since, registry_run, as_of, registry, current) -%}
  {%- if since is none or not registry_run or since >= as_of -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set held = registry_brought_forward(registry, since, registry_run, as_of) -%}
  {%- set current_held = table_held(current, 'identity') -%}
  {{ return(held is not none and current_held is not none and current_held[0] == as_of
            and one_id_current_registry(current) == identity_state_part(held[1], 'run')) }}
{%- endmacro %}


{#- The node ids of the identifiers with a registry row after `since` (`registry`: its
    relation). -#}
{% macro registry_nodes_after(since, registry) -%}
select {{ identifier_node_id('identifier_hash') }} from {{ registry }} where valid_from > cast('{{ since }}' as date)
{%- endmacro %}


{#- int_identity__one_id_current's logic, as a digest: its SQL and the macros it renders (the node
    id, the latest value, the identifiers looked up again), so that a table built by other logic
    is rebuilt. -#}
{% macro identity_current_logic() -%}
  {{ return(local_md5(model.raw_code ~ '|' ~ identifier_node_id('identifier_hash') ~ '|'
                      ~ value_at_latest('one_id', 'valid_from') ~ '|' ~ registry_nodes_after('D0', 'registry'))) }}
{%- endmacro %}


{#- int_identity__one_id_current's post-hook: the D it holds, its logic and the build of the
    registry it was built from ("one_id_current logic <md5> registry <invocation>"). -#}
{% macro identity_current_mark() -%}
  {%- set registry = table_held(ref('one_id_registry'), 'identity') if keeps_tables() else none -%}
  {{ return(kept_mark('identity', 'one_id_current logic ' ~ identity_current_logic() ~ ' registry '
                                  ~ identity_state_part(registry[1] if registry is not none else '', 'run'))) }}
{%- endmacro %}


{#- int_identity__one_id_current's pre-hook: remove the identifiers with a registry row after
    `since` (or every row). -#}
{% macro identity_current_reset(since) -%}
  {{ return(kept_reset_where(since, 'node_id in (' ~ registry_nodes_after(since, ref('one_id_registry')) ~ ')')) }}
{%- endmacro %}
