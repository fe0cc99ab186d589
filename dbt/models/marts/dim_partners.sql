-- Channel partners, with whether each is active at --as-of.
select
    partner_id,
    partner_name,
    region,
    tier,
    onboarded_date,
    terminated_date,
    certified_date,
    health_score,
    credit_suspended,
    onboarded_date <= {{ as_of_date() }}
        and (terminated_date is null or terminated_date > {{ as_of_date() }}) as is_active_at_as_of,
    coalesce(certified_date <= {{ as_of_date() }}, false) as is_certified_at_as_of
from {{ ref('stg_crm__partners') }}
