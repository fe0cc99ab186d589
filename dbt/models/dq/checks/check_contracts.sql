-- The input of the contract checks (Great Expectations, docs/data_quality.md): one row per contract
-- with its dates, its line count and value (the sum of its lines, in the contract's currency; for a
-- new contract also as new_contract_value, which must be above zero), and
-- its payments (refunds netted) converted to the contract's currency: a payment in that currency
-- as it is; otherwise through CNY, at the payment's own month and back at the contract's rate.
with lines as (
    select
        contract_id,
        count(*) as line_count,
        sum(amount) as contract_value,
        max(fx_rate_to_cny) as contract_rate
    from {{ ref('stg_finance__contract_lines') }}
    group by contract_id
),

paid as (
    select
        payments.contract_id,
        count(*) as payment_count,
        sum(case
            when payments.currency = contracts.currency then payments.amount
            when contracts.currency = 'CNY' then payments.amount_cny
            else payments.amount_cny / nullif(lines.contract_rate, 0)
        end) as paid_total
    from {{ ref('stg_finance__payments') }} as payments
    inner join {{ ref('stg_finance__contracts') }} as contracts
        on contracts.contract_id = payments.contract_id
    left join lines on lines.contract_id = payments.contract_id
    group by payments.contract_id
)

select
    contracts.contract_id,
    contracts.owner_id,
    contracts.account_id,
    contracts.status,
    contracts.currency,
    contracts.contract_type,
    contracts.signed_date,
    contracts.start_date,
    contracts.end_date,
    coalesce(lines.line_count, 0) as line_count,
    cast(lines.contract_value as double) as contract_value,
    cast(case when contracts.contract_type = 'new' then lines.contract_value end as double) as new_contract_value,
    coalesce(paid.payment_count, 0) as payment_count,
    cast(paid.paid_total as double) as paid_total,
    cast(case when lines.contract_value > 0 then paid.paid_total / lines.contract_value end as double) as paid_share,
    contracts.source_file,
    contracts.source_row,
    'contract ' || contracts.contract_id || ' (owner ' || coalesce(contracts.owner_id, 'none') || '; '
        || {{ source_ref('contracts.source_file', 'contracts.source_row') }} || ')' as row_ref
from {{ ref('stg_finance__contracts') }} as contracts
left join lines on lines.contract_id = contracts.contract_id
left join paid on paid.contract_id = contracts.contract_id
