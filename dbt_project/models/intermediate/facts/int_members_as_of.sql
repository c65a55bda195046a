{{ config(materialized=view_materialization()) }}

{#- Registered members as of D: the members that registered on or before D (a member with no
    known register event counts as registered; deleted persons are not in `members` at all). -#}

with

members as (

    select
        one_id,
        member_id,
        registration_date
    from {{ ref('members') }}

)

select
    one_id,
    member_id,
    registration_date
from members
where registration_date is null
   or registration_date <= {{ as_of_date() }}
