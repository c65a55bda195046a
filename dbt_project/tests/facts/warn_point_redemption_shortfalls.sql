-- Redemptions that asked for more points than the member's unexpired lots held (SPEC §6: recorded
-- as a shortfall and flagged, never a crash). A warning to review, not an error: the
-- mini-program's own ledger disagrees with the points memberflow computes for these members.
{{ config(severity="warn", meta={"dagster": {"ref": {"name": "member_points"}}}) }}

select
    one_id,
    order_key,
    redeem_date,
    points_requested,
    points_applied,
    points_shortfall
from {{ ref('int_point_redemptions') }}
where has_shortfall
