-- Cash received (negative = refund), in CNY at the month of received_date.
select
    payments.payment_id,
    payments.contract_id,
    contracts.account_id,
    payments.received_date,
    payments.amount,
    payments.currency,
    payments.fx_rate_to_cny,
    payments.amount_cny,
    payments.is_refund,
    payments.unknown_contract,
    payments.missing_fx_rate
from {{ ref('stg_finance__payments') }} as payments
left join {{ ref('stg_finance__contracts') }} as contracts
    on contracts.contract_id = payments.contract_id
