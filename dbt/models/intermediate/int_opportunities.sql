-- Current opportunities (not deleted) with their first touch, the account's region_group and
-- the win cycle. `is_kpi_included` is false for a partner deal without partner_id (a reference
-- problem: left out of every KPI and counted in dq.reference_issues).
select
    opportunities.opportunity_id,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.created_at,
    opportunities.stage,
    opportunities.is_closed,
    opportunities.is_won,
    opportunities.amount,
    opportunities.currency,
    opportunities.amount_cny,
    opportunities.missing_fx_rate,
    opportunities.expected_close_date,
    opportunities.closed_at,
    opportunities.forecast_category,
    opportunities.channel,
    opportunities.partner_id,
    opportunities.missing_partner_id,
    coalesce(opportunities.product_family, 'unknown') as product_family,
    coalesce(accounts.region_group, 'unknown') as region_group,
    first_touch.first_touch_date,
    first_touch.first_touch_source,
    case when opportunities.is_won and opportunities.closed_at is not null
        then date_diff('day', first_touch.first_touch_date, opportunities.closed_at) end as win_cycle_days,
    not opportunities.missing_partner_id as is_kpi_included
from {{ ref('stg_crm__opportunities') }} as opportunities
left join {{ ref('stg_crm__accounts') }} as accounts
    on accounts.account_id = opportunities.account_id
left join {{ ref('int_first_touch') }} as first_touch
    on first_touch.subject_type = 'opportunity' and first_touch.subject_id = opportunities.opportunity_id
