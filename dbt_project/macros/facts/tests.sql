{#- Generic test: the columns together identify a row (no two rows share all their values). -#}
{% test unique_together(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_sharing_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
