-- Contracts due for renewal (counting, with a recurring line and an end_date), with whether
-- each is renewed within the grace, renewed late or still pending at --as-of, and the recurring
-- amounts that expire and that renewed (docs/metrics.md section 9).
select
    contract_id,
    account_id,
    signed_date,
    end_date,
    grace_end_date,
    channel,
    region,
    region_group,
    is_strategic,
    expiring_recurring_cny,
    first_renewal_contract_id,
    first_renewal_signed_date,
    is_renewed,
    renewed_recurring_cny,
    is_renewed_late,
    days_late,
    is_pending,
    is_open
from {{ ref('int_renewals') }}
