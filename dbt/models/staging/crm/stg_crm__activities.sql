-- CRM touches (visits, calls, emails, meetings, demos, events): one row per live activity_id.
with merged as (
    select * from {{ ref('base_crm__activities') }} where not coalesce(is_deleted, false)
)

select
    activity_id,
    account_id,
    opportunity_id,
    owner_id,
    activity_date,
    activity_type,
    _source_file as source_file,
    _row_number as source_row
from merged
