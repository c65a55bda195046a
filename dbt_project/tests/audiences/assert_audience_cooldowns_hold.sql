{{ config(meta={"dagster": {"ref": {"name": "audience_members"}}}) }}
-- No member is emitted twice in reactivation / tier_downgrade within the cooldown: checked for
-- the days this build computed, against every earlier row of the history.
{%- set range = audience_range() %}
{%- set cooldowns = {
    'reactivation': cfg('reactivation_cooldown_days') | int,
    'tier_downgrade': cfg('tier_downgrade_cooldown_days') | int,
} %}

select a.audience, a.one_id, a.as_of_date, b.as_of_date as earlier_emission
from {{ ref('audience_members') }} as a
inner join {{ ref('audience_members') }} as b
    on b.audience = a.audience
   and b.one_id = a.one_id
   and b.as_of_date < a.as_of_date
where a.as_of_date >= cast('{{ range["first"] }}' as date)
  and a.as_of_date <= cast('{{ range["last"] }}' as date)
  and (
  {%- for audience, days in cooldowns.items() %}
      (a.audience = '{{ audience }}' and b.as_of_date >= {{ days_after('a.as_of_date', -days) }})
      {{ "or" if not loop.last }}
  {%- endfor %}
  )
