-- CRM customers: one row per live account_id (docs/contract.md section 1 merge rules).
with merged as (
    select * from {{ ref('base_crm__accounts') }} where not coalesce(is_deleted, false)
)

select
    account_id,
    account_name,
    region,
    case when region = 'CN' then 'domestic' else 'overseas' end as region_group,
    {{ upper_code('country') }} as country,
    -- CRM key fields (seed crm_key_fields): blanks and placeholders become NULL
    {{ normalize_placeholder('industry') }} as industry,
    {{ normalize_placeholder('owner_id') }} as owner_id,
    created_at,
    {{ normalize_placeholder('pain_points') }} as pain_points,
    {{ normalize_placeholder('procurement_cycle') }} as procurement_cycle,
    {{ normalize_placeholder('main_competitor') }} as main_competitor,
    -- personal data: staging only, never exposed by marts
    {{ normalize_placeholder('decision_maker') }} as decision_maker,
    contact_email,
    contact_phone,
    _source_file as source_file,
    _row_number as source_row
from merged
