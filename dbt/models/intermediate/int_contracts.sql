-- One row per live contract with its revenue, eligible cost, payments and first touch: the
-- contract-level facts behind signed revenue, gross margin, renewals and the sales cycle.
-- `is_kpi_included`: the contract counts (not cancelled, not deleted) and has no
-- missing_partner_id; `is_revenue_included`: it also has lines in CNY (no missing_fx_rate).
with lines as (
    select
        contract_id,
        count(*) as line_count,
        bool_or(is_recurring) as has_recurring_line,
        bool_or(missing_fx_rate) as has_missing_fx_rate,
        sum(amount_cny) filter (where is_revenue_included) as revenue_cny,
        sum(amount_cny) filter (where is_revenue_included and is_recurring) as recurring_revenue_cny,
        sum(amount_cny) filter (where is_revenue_included and product_family = 'saas') as saas_revenue_cny
    from {{ ref('int_contract_lines_cny') }}
    where not unknown_contract
    group by contract_id
),

costs as (
    select
        contract_id,
        sum(amount_cny) filter (where is_margin_included) as eligible_cost_cny,
        sum(amount_cny) filter (
            where not is_eligible_type and is_booked_by_as_of and not missing_fx_rate
        ) as excluded_cost_cny
    from {{ ref('int_contract_costs') }}
    where not unknown_contract
    group by contract_id
),

payments as (
    select
        contract_id,
        min(received_date) filter (where amount > 0 and received_date <= {{ as_of_date() }}) as first_payment_date,
        sum(amount_cny) filter (where not missing_fx_rate and received_date <= {{ as_of_date() }}) as paid_cny,
        -sum(amount_cny) filter (
            where is_refund and not missing_fx_rate and received_date <= {{ as_of_date() }}
        ) as refunded_cny
    from {{ ref('stg_finance__payments') }}
    where not unknown_contract
    group by contract_id
),

joined as (
    select
        contracts.contract_id,
        contracts.account_id,
        contracts.opportunity_id,
        contracts.owner_id,
        contracts.signed_date,
        contracts.start_date,
        contracts.end_date,
        contracts.currency,
        contracts.contract_type,
        contracts.renews_contract_id,
        contracts.channel,
        contracts.partner_id,
        partners.tier as partner_tier,
        contracts.status,
        contracts.is_counting,
        contracts.missing_partner_id,
        coalesce(lines.has_missing_fx_rate, false) as missing_fx_rate,
        contracts.is_counting and not contracts.missing_partner_id as is_kpi_included,
        coalesce(accounts.region, 'unknown') as region,
        coalesce(accounts.region_group, 'unknown') as region_group,
        coalesce(accounts.industry, 'unknown') as industry,
        coalesce(lines.line_count, 0) as line_count,
        coalesce(lines.has_recurring_line, false) as has_recurring_line,
        lines.revenue_cny,
        coalesce(lines.recurring_revenue_cny, 0) as recurring_revenue_cny,
        coalesce(lines.saas_revenue_cny, 0) as saas_revenue_cny,
        coalesce(costs.eligible_cost_cny, 0) as eligible_cost_cny,
        coalesce(costs.excluded_cost_cny, 0) as excluded_cost_cny,
        payments.first_payment_date,
        coalesce(payments.paid_cny, 0) as paid_cny,
        coalesce(payments.refunded_cny, 0) as refunded_cny,
        first_touch.first_touch_date,
        first_touch.first_touch_source
    from {{ ref('stg_finance__contracts') }} as contracts
    left join lines on lines.contract_id = contracts.contract_id
    left join costs on costs.contract_id = contracts.contract_id
    left join payments on payments.contract_id = contracts.contract_id
    left join {{ ref('stg_crm__accounts') }} as accounts on accounts.account_id = contracts.account_id
    -- the partner's tier when the contract was signed (the partners export valid that day)
    left join {{ ref('stg_crm__partner_exports') }} as partners
        on partners.partner_id = contracts.partner_id
        and contracts.signed_date between partners.valid_from and partners.valid_to
    left join {{ ref('int_first_touch') }} as first_touch
        on first_touch.subject_type = 'contract' and first_touch.subject_id = contracts.contract_id
)

select
    *,
    is_kpi_included and revenue_cny is not null as is_revenue_included,
    case when is_kpi_included and revenue_cny is not null
        then revenue_cny - eligible_cost_cny end as gross_profit_cny,
    case
        when is_kpi_included and contract_type = 'new' and first_payment_date is not null
            then date_diff('day', first_touch_date, first_payment_date)
    end as sales_cycle_days
from joined
