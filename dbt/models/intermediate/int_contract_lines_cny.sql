-- Contract revenue by line, in CNY (and USD), with everything the revenue KPIs break it down by:
-- the contract's owner, type, channel and partner (its tier when the contract was signed), the
-- account's region, region_group and industry, the line's product_family. `is_revenue_included` says whether the line counts in
-- signed revenue: its contract counts (not cancelled, not deleted), was signed by --as-of, and no
-- reference problem (unknown_contract, missing_partner_id, missing_fx_rate) leaves it out.
with usd as (
    select month, rate_to_cny
    from {{ ref('stg_finance__fx_rates') }}
    where currency = 'USD'
)

select
    lines.contract_id,
    lines.line_no,
    lines.product_family,
    lines.is_recurring,
    lines.amount,
    lines.currency,
    lines.fx_rate_to_cny,
    lines.amount_cny,
    -- USD at the USD rate of the row's own month (NULL when that month has no USD rate)
    case
        when lines.currency = 'USD' then cast(lines.amount as double)
        else cast(lines.amount_cny as double) / usd.rate_to_cny
    end as amount_usd,
    contracts.account_id,
    contracts.owner_id,
    contracts.signed_date,
    contracts.contract_type,
    contracts.channel,
    contracts.partner_id,
    partners.tier as partner_tier,
    contracts.status,
    coalesce(accounts.region, 'unknown') as region,
    coalesce(accounts.region_group, 'unknown') as region_group,
    coalesce(accounts.industry, 'unknown') as industry,
    coalesce(contracts.is_counting, false) as is_counting,
    lines.unknown_contract,
    coalesce(contracts.missing_partner_id, false) as missing_partner_id,
    lines.missing_fx_rate,
    coalesce(
        contracts.is_counting
        and not contracts.missing_partner_id
        and not lines.missing_fx_rate
        and not lines.unknown_contract
        and contracts.signed_date <= {{ as_of_date() }},
        false
    ) as is_revenue_included
from {{ ref('stg_finance__contract_lines') }} as lines
left join {{ ref('stg_finance__contracts') }} as contracts
    on contracts.contract_id = lines.contract_id
left join {{ ref('stg_crm__accounts') }} as accounts
    on accounts.account_id = contracts.account_id
-- the partner's tier when the contract was signed (the partners export valid that day)
left join {{ ref('stg_crm__partner_exports') }} as partners
    on partners.partner_id = contracts.partner_id
    and contracts.signed_date between partners.valid_from and partners.valid_to
left join usd
    on usd.month = strftime(lines.signed_date, '%Y-%m')
