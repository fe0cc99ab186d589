-- Contracts due for renewal (counting, with a recurring line and an end_date), with whether
-- each is renewed within the grace or still pending at --as-of.
select
    contract_id,
    account_id,
    signed_date,
    end_date,
    grace_end_date,
    channel,
    region_group,
    is_strategic,
    first_renewal_contract_id,
    first_renewal_signed_date,
    is_renewed,
    is_pending
from {{ ref('int_renewals') }}
