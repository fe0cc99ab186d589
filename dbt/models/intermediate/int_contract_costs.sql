-- Delivery costs booked to contracts, in CNY, with the finance rule of gross_margin applied:
-- a cost is eligible unless its type is in the seed `excluded_cost_types` (default logistics and
-- implementation_addon), and only costs booked up to --as-of count. `is_margin_included` is
-- true for an eligible cost that is booked by --as-of and has no reference problem
-- (unknown_contract, missing_fx_rate).
select
    costs.cost_id,
    costs.contract_id,
    costs.cost_date,
    costs.cost_type,
    costs.amount,
    costs.currency,
    costs.fx_rate_to_cny,
    costs.amount_cny,
    excluded.cost_type is null as is_eligible_type,
    costs.cost_date <= {{ as_of_date() }} as is_booked_by_as_of,
    costs.unknown_contract,
    costs.missing_fx_rate,
    (
        excluded.cost_type is null
        and costs.cost_date <= {{ as_of_date() }}
        and not costs.unknown_contract
        and not costs.missing_fx_rate
    ) as is_margin_included
from {{ ref('stg_finance__costs') }} as costs
left join {{ ref('excluded_cost_types') }} as excluded
    on excluded.cost_type = costs.cost_type
