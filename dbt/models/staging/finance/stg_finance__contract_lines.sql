-- Contract lines: one row per live (contract_id, line_no), amount in the contract's currency,
-- converted to CNY at the month of the contract's signed_date. A line whose contract is not in
-- stg_finance__contracts has no currency, so no amount_cny either (unknown_contract and
-- missing_fx_rate are both true); dq.reference_issues reports it (unknown_contract).
with merged as (
    select * from {{ ref('base_finance__contract_lines') }} as merged
    where not coalesce(merged.is_deleted, false)
        -- a contract held back by a quarantined file is left out, with all that is booked to it
        and not exists (
            select 1 from {{ ref('stg_finance__held_back_contracts') }} as held
            where held.contract_id = merged.contract_id
        )
),

cleaned as (
    select
        merged.contract_id,
        merged.line_no,
        merged.product_family,
        merged.amount,
        coalesce(
            merged.is_recurring,
            merged.product_family in (
                {%- for family in var('recurring_product_families') %}
                '{{ family }}'{{ ',' if not loop.last }}
                {%- endfor %}
            )
        ) as is_recurring,
        merged.is_recurring is null as is_recurring_defaulted,
        contracts.contract_id is null as unknown_contract,
        contracts.currency,
        contracts.signed_date,
        merged._source_file as source_file,
        merged._row_number as source_row
    from merged
    left join {{ ref('stg_finance__contracts') }} as contracts
        on contracts.contract_id = merged.contract_id
),

converted as (
    {{ convert_to_cny('cleaned', 'amount', 'currency', 'signed_date') }}
)

select
    contract_id,
    line_no,
    product_family,
    amount,
    is_recurring,
    is_recurring_defaulted,
    currency,
    signed_date,
    fx_rate_to_cny,
    amount_cny,
    missing_fx_rate,
    unknown_contract,
    source_file,
    source_row
from converted
