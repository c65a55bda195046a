{#- Tier bands from memberflow.yaml (tiers.bands): [{tier, lower}, ...] ascending by lower bound.
    A tier is handled by its rank (0 = lowest band) so that "highest reached" and "below today's"
    are integer comparisons; names and lower bounds come back from the rank. -#}

{% macro tier_bands() -%}
  {%- set bands = cfg('tier_bands') or [{'tier': 'regular', 'lower': 0}] -%}
  {{ return(bands | sort(attribute='lower')) }}
{%- endmacro %}

{#- Rank (0, 1, ...) of the band holding an integer growth value. -#}
{% macro tier_rank_of(growth_value) -%}
  {%- set bands = tier_bands() -%}
  case
  {%- for band in bands | reverse %}
    {%- if not loop.last %}
    when ({{ growth_value }}) >= {{ band['lower'] | int }} then {{ bands | length - loop.index }}
    {%- endif %}
  {%- endfor %}
    else 0
  end
{%- endmacro %}

{#- Tier name of a rank. -#}
{% macro tier_name_of(rank) -%}
  case ({{ rank }})
  {%- for band in tier_bands() %}
    when {{ loop.index0 }} then '{{ band["tier"] }}'
  {%- endfor %}
  end
{%- endmacro %}

{#- Lower bound (growth value) of a rank's band. -#}
{% macro tier_lower_of(rank) -%}
  case ({{ rank }})
  {%- for band in tier_bands() %}
    when {{ loop.index0 }} then {{ band['lower'] | int }}
  {%- endfor %}
  end
{%- endmacro %}

{#- The tier names, for accepted_values tests and documentation. -#}
{% macro tier_names() -%}
  {{ return(tier_bands() | map(attribute='tier') | list) }}
{%- endmacro %}
