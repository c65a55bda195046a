{#- audiences.audience_members is the history of every emitted row: a build replaces the rows of
    the days it computes and keeps every other day. Two pre-hooks of the model (inside the build's
    transaction where the engine has one) run before its rows are appended:
    - audience_history_clear_days: remove the rows of the days in [audience_from, as_of_date],
      also of a day that now has no row at all;
    - audience_history_forget_deleted: remove every row of a person deleted as of the build
      (SPEC §6: a delete forgets the whole person, its past audience rows too), by its one_id and
      by the member_id that was deleted.
    The model itself reads only days before audience_from, so this order is safe. Nothing runs on
    the first build (the table does not exist yet). -#}

{% macro audience_history_clear_days() -%}
  {%- if is_incremental() -%}
    {%- set range = audience_range() -%}
    {{ delete_rows(this, "as_of_date >= cast('" ~ range["first"] ~ "' as date) and as_of_date <= cast('"
                         ~ range["last"] ~ "' as date)") }}
  {%- endif -%}
{%- endmacro %}

{% macro audience_history_forget_deleted() -%}
  {%- if is_incremental() -%}
    {{ delete_rows(this, "one_id in (select one_id from " ~ ref('deleted_persons') ~ ")"
                         ~ " or member_id in (select member_id from " ~ ref('stg_miniprogram__member_events')
                         ~ " where event = 'delete')") }}
  {%- endif -%}
{%- endmacro %}
