-- The team roster, without personal data (rep_name stays in staging).
select
    rep_id,
    team,
    region,
    hire_date,
    leave_date,
    role_tags,
    is_big_deal_lead,
    is_overseas_consultant,
    hire_date <= {{ as_of_date() }}
        and (leave_date is null or leave_date > {{ as_of_date() }}) as is_employed_at_as_of
from {{ ref('stg_hr__reps') }}
