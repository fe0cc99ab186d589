-- CRM completeness per record (docs/metrics.md crm_completeness): one row per current (not deleted)
-- account and opportunity, with its owner, how many of its key fields (seed crm_key_fields) are
-- empty and which. The rep scorecard and the weekly leaderboard (dq.crm_completeness_weekly) read
-- it; only the field names leave, never a value (decision_maker is personal data).
select
    table_name,
    record_id,
    owner_id,
    created_at,
    count(*) as key_fields,
    count(*) filter (where not is_filled) as empty_fields,
    coalesce(list(field order by field) filter (where not is_filled), []) as empty_field_names,
    cast(count(*) filter (where is_filled) as double) / count(*) as completeness
from {{ ref('int_crm_completeness_cells') }}
group by table_name, record_id, owner_id, created_at
