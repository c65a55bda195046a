{{ config(meta={"dagster": {"ref": {"name": "audience_members"}}}) }}
-- An sms row carries the phone (hash and masked) and no unionid; a wecom row the unionid and no
-- phone (SPEC §7: the outbox carries a phone only for sms rows).
select message_key, channel, phone_hash, phone_masked, unionid_hash
from {{ ref('audience_members') }}
where (channel = 'sms' and (phone_hash is null or phone_masked is null or unionid_hash is not null))
   or (channel = 'wecom' and (unionid_hash is null or phone_hash is not null or phone_masked is not null))
