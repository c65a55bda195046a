{#- The store master (SPEC §1.2): maps platform shop ids to the brand's store_code. Read from the
    configured store master file (memberflow.yaml paths.stores / --stores) when there is one,
    else from the seed `stores` (macro store_master_relation). -#}
-- depends_on: {{ ref('stores') }}

select
    trim(cast(store_code as {{ dbt.type_string() }})) as store_code,
    cast(store_name as {{ dbt.type_string() }}) as store_name,
    cast(city as {{ dbt.type_string() }}) as city,
    nullif(trim(cast(meituan_shop_id as {{ dbt.type_string() }})), '') as meituan_shop_id,
    nullif(trim(cast(eleme_shop_id as {{ dbt.type_string() }})), '') as eleme_shop_id,
    cast(nullif(trim(cast(opened_on as {{ dbt.type_string() }})), '') as date) as opened_on
from {{ store_master_relation() }} as store_master
where store_code is not null
