{#- Platform shop ids that the store master (seed `stores`) does not know, as of D (SPEC §1.2):
    their orders are kept with no store_code. Add the shop to the store master to fix. -#}
select
    source,
    shop_id,
    count(*) as orders,
    min(business_date) as first_business_date,
    max(business_date) as last_business_date
from {{ ref('int_orders__lines') }}
where source in ('meituan', 'eleme')
  and store_code is null
group by source, shop_id
