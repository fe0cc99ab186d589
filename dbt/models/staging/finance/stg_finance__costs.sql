-- Delivery cost booked to a contract: one row per live cost_id, converted to CNY at the month of
-- cost_date. A cost booked to a contract that is not (or no longer) in stg_finance__contracts is
-- kept and flagged unknown_contract.
with merged as (
    select * from {{ ref('base_finance__costs') }} as merged
    where not coalesce(merged.is_deleted, false)
        -- a contract held back by a quarantined file is left out, with all that is booked to it
        and not exists (
            select 1 from {{ ref('stg_finance__held_back_contracts') }} as held
            where held.contract_id = merged.contract_id
        )
),

cleaned as (
    select
        cost_id,
        contract_id,
        cost_date,
        cost_type,
        amount,
        {{ upper_code('currency') }} as currency,
        _source_file as source_file,
        _row_number as source_row
    from merged
),

converted as (
    {{ convert_to_cny('cleaned', 'amount', 'currency', 'cost_date') }}
)

select
    converted.cost_id,
    converted.contract_id,
    converted.cost_date,
    converted.cost_type,
    converted.amount,
    converted.currency,
    converted.fx_rate_to_cny,
    converted.amount_cny,
    converted.missing_fx_rate,
    contracts.contract_id is null as unknown_contract,
    converted.source_file,
    converted.source_row
from converted
left join {{ ref('stg_finance__contracts') }} as contracts
    on contracts.contract_id = converted.contract_id
