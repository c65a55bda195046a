-- Redemptions that asked for more points than the member's unexpired lots held (SPEC §6: recorded
-- as a shortfall and flagged, never a crash). A warning to review, not an error: the
-- mini-program's own ledger disagrees with the points memberflow computes for these members.
-- In Dagster a check of member_points, the mart a reviewer reads (a check's asset must be one
-- of the test's parents, hence the depends_on).
{{ config(severity="warn", meta={"dagster": {"ref": {"name": "member_points"}}}) }}
-- depends_on: {{ ref('member_points') }}

select
    one_id,
    order_key,
    redeem_date,
    points_requested,
    points_applied,
    points_shortfall
from {{ ref('int_point_redemptions') }}
where has_shortfall
