-- Delivery costs booked to contracts, in CNY at the month of cost_date, with the finance rule
-- (eligible or excluded type, booked by --as-of).
select
    cost_id,
    contract_id,
    cost_date,
    cost_type,
    amount,
    currency,
    fx_rate_to_cny,
    amount_cny,
    is_eligible_type,
    is_booked_by_as_of,
    unknown_contract,
    missing_fx_rate,
    is_margin_included
from {{ ref('int_contract_costs') }}
