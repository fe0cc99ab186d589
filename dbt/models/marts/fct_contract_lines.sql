-- One row per contract line, in CNY and USD, with the contract's and account's attributes the
-- revenue KPIs break it down by.
select
    contract_id,
    line_no,
    product_family,
    is_recurring,
    amount,
    currency,
    fx_rate_to_cny,
    amount_cny,
    amount_usd,
    account_id,
    signed_date,
    contract_type,
    channel,
    partner_id,
    partner_tier,
    status,
    region,
    region_group,
    industry,
    is_counting,
    unknown_contract,
    missing_partner_id,
    missing_fx_rate,
    is_revenue_included
from {{ ref('int_contract_lines_cny') }}
