-- Current opportunities (not deleted) with their first touch, the account's region_group and
-- industry, the win cycle and the amount at the rate of the --as-of month. `is_kpi_included` is
-- false for a partner deal without partner_id (a reference problem: left out of every KPI and
-- counted in dq.reference_issues). `counts_as_won`: closed_won and not a deal whose contract was
-- cancelled (contract number and signature are the only measure: such a deal counts as lost in
-- win_rate).
with linked_contracts as (
    select opportunity_id, bool_and(status = 'cancelled') as contract_cancelled
    from {{ ref('stg_finance__contracts') }}
    where opportunity_id is not null
    group by opportunity_id
),

as_of_rates as (
    select currency, rate_to_cny
    from {{ ref('stg_finance__fx_rates') }}
    where month = strftime({{ as_of_date() }}, '%Y-%m')
),

opportunities as (
    select
        opportunities.*,
        coalesce(linked_contracts.contract_cancelled, false) as contract_cancelled,
        cast(opportunities.amount * case when opportunities.currency = 'CNY' then 1.0 else as_of_rates.rate_to_cny end
             as decimal(18, 2)) as amount_cny_as_of
    from {{ ref('stg_crm__opportunities') }} as opportunities
    left join linked_contracts
        on linked_contracts.opportunity_id = opportunities.opportunity_id
    left join as_of_rates
        on as_of_rates.currency = opportunities.currency
)

select
    opportunities.opportunity_id,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.created_at,
    opportunities.stage,
    opportunities.is_closed,
    opportunities.is_won,
    opportunities.contract_cancelled,
    opportunities.is_won and not opportunities.contract_cancelled as counts_as_won,
    opportunities.amount,
    opportunities.currency,
    opportunities.amount_cny,
    opportunities.missing_fx_rate,
    opportunities.amount_cny_as_of,
    opportunities.expected_close_date,
    opportunities.closed_at,
    opportunities.forecast_category,
    opportunities.channel,
    opportunities.partner_id,
    opportunities.missing_partner_id,
    coalesce(opportunities.product_family, 'unknown') as product_family,
    coalesce(accounts.region_group, 'unknown') as region_group,
    coalesce(accounts.industry, 'unknown') as industry,
    first_touch.first_touch_date,
    first_touch.first_touch_source,
    case when opportunities.is_won and not opportunities.contract_cancelled and opportunities.closed_at is not null
        then date_diff('day', first_touch.first_touch_date, opportunities.closed_at) end as win_cycle_days,
    not opportunities.missing_partner_id as is_kpi_included
from opportunities
left join {{ ref('stg_crm__accounts') }} as accounts
    on accounts.account_id = opportunities.account_id
left join {{ ref('int_first_touch') }} as first_touch
    on first_touch.subject_type = 'opportunity' and first_touch.subject_id = opportunities.opportunity_id
