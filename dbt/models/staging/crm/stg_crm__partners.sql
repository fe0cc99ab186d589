-- Channel partners: one row per live partner_id.
with merged as (
    {{ latest_per_key(source('raw', 'partners'), ['partner_id']) }}
)

select
    partner_id,
    partner_name,
    region,
    tier,
    onboarded_date,
    terminated_date,
    certified_date,
    health_score,
    coalesce(credit_suspended, false) as credit_suspended,
    _source_file as source_file,
    _row_number as source_row
from merged
