-- Early warnings (docs/metrics.md section 5): one row per warning open at --as-of, with what it is
-- about, the value that triggered it, the threshold (seed kpi_thresholds) and what to do.
--   red            budget_freeze  a customer with a net loss in its latest 2 consecutive fiscal quarters;
--                                 the amount at risk: its open pipeline and its renewal base in the next 12 months
--   blue           attrition      monthly attrition_rate above 0.05 (latest complete and running month)
--   orange         concentration  top_customer_share above 0.15 in the current quarter (once half of it
--                                 has passed) or year
--   yellow         forecast       |forecast_deviation| above 0.15 (latest complete month and quarter)
--   yellow         forecast_call  the running quarter's won (signed revenue to date) + commit pipeline
--                                 below 80% of its signed_revenue plan to date
--   purple         channel        an active partner, not credit-suspended, with health_score below 80
--   grey           data           a CRM key field below 95% filled (all current records), and reps in
--                                 the bottom 3 of weekly completeness in each of the last 2 weeks (dq.crm_completeness_bottom_reps);
--                                 and a KPI measured by hand with a target and no value for a period that
--                                 has ended (marts.kpi_attainment status no_data): missing data, not missed
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

-- the period running at --as-of and the latest complete one, per period type
current_periods as (
    select period_type, period, 'running' as which
    from {{ ref('int_periods') }}, as_of
    where as_of.as_of_date between period_start and period_end
    union all
    select period_type, max_by(period, period_end), 'latest_complete'
    from {{ ref('int_periods') }}
    where is_complete
    group by period_type
),

financials as (
    select
        financials.*,
        financials.fiscal_year * 4 + cast(right(financials.fiscal_quarter, 1) as integer) as quarter_index,
        row_number() over (partition by financials.account_id order by financials.quarter_end_date desc) as recency
    from {{ ref('stg_crm__customer_financials') }} as financials, as_of
    where financials.quarter_end_date <= as_of.as_of_date
),

budget_freeze as (
    select
        financials.account_id,
        min_by(financials.fiscal_quarter, financials.quarter_index) as first_quarter,
        max_by(financials.fiscal_quarter, financials.quarter_index) as last_quarter,
        max_by(financials.net_profit_cny, financials.quarter_index) as last_net_profit_cny
    from financials
    where financials.recency <= {{ threshold('alert_loss_quarters_in_a_row') }}
    group by financials.account_id
    having count(*) = {{ threshold('alert_loss_quarters_in_a_row') }}
       and bool_and(financials.net_profit < 0)
       and max(financials.quarter_index) - min(financials.quarter_index) = count(*) - 1
),

-- what a budget freeze puts at risk: the account's open pipeline (current amounts, --as-of month's
-- rate) and its renewal base in the next 12 months (E of its contracts ending after --as-of and
-- within 12 months, renewed or not)
at_risk as (
    select
        budget_freeze.account_id,
        coalesce((
            select sum(opportunities.amount_cny_as_of) from {{ ref('int_opportunities') }} as opportunities
            where opportunities.account_id = budget_freeze.account_id
              and opportunities.is_kpi_included and not opportunities.is_closed
        ), 0) as open_pipeline_cny,
        coalesce((
            select sum(renewals.expiring_recurring_cny) from {{ ref('int_renewals') }} as renewals, as_of
            where renewals.account_id = budget_freeze.account_id
              and renewals.end_date > as_of.as_of_date
              and renewals.end_date <= cast(as_of.as_of_date + interval 12 month as date)
        ), 0) as renewal_base_cny
    from budget_freeze
),

current_kpis as (
    select kv.*, current_periods.which, periods.elapsed_share
    from {{ ref('kpi_values') }} as kv
    inner join current_periods
        on current_periods.period_type = kv.period_type and current_periods.period = kv.period
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = kv.period_type and periods.period = kv.period
    where kv.segment = 'all'
),

-- the forecast call of the running quarter: won to date (signed revenue) + the commit pipeline,
-- against the quarter's signed_revenue plan to date (marts.kpi_attainment)
forecast_call as (
    select
        plan.period,
        plan.plan_to_date,
        coalesce(won.value, 0) as won_cny,
        coalesce(committed.value, 0) as commit_cny,
        {{ safe_ratio('coalesce(won.value, 0) + coalesce(committed.value, 0)', 'plan.plan_to_date') }} as call_share
    from {{ ref('kpi_attainment') }} as plan
    inner join current_periods
        on current_periods.period_type = plan.period_type and current_periods.period = plan.period
        and current_periods.which = 'running'
    left join {{ ref('int_kpi_values_long') }} as won
        on won.kpi_id = 'signed_revenue' and won.segment = 'all'
        and won.period_type = plan.period_type and won.period = plan.period
    left join {{ ref('int_kpi_values_long') }} as committed
        on committed.kpi_id = 'pipeline_open_amount' and committed.segment = 'forecast_category=commit'
        and committed.period_type = plan.period_type and committed.period = plan.period
    where plan.kpi_id = 'signed_revenue' and plan.segment = 'all' and plan.period_type = 'quarter'
      and plan.plan_to_date > 0
),

period_account_revenue as (
    select current_periods.period_type, current_periods.period, lines.account_id, sum(lines.amount_cny) as revenue_cny
    from current_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = current_periods.period_type and periods.period = current_periods.period
    inner join {{ ref('int_contract_lines_cny') }} as lines
        on lines.signed_date between periods.period_start and periods.period_end
    where lines.is_revenue_included
    group by all
),

top_accounts as (
    select period_type, period, arg_max(account_id, revenue_cny) as account_id
    from period_account_revenue
    group by period_type, period
),

field_completeness as (
    select table_name, field, avg(case when is_filled then 1.0 else 0.0 end) as completeness
    from {{ ref('int_crm_completeness_cells') }}
    group by table_name, field
),

warnings as (
    select
        'budget_freeze' as kind,
        'red' as colour,
        'account' as subject_type,
        budget_freeze.account_id as subject,
        budget_freeze.last_quarter as period,
        cast(budget_freeze.last_net_profit_cny as double) as value,
        0.0 as threshold,
        'net_profit < 0 in ' || cast({{ threshold('alert_loss_quarters_in_a_row') }} as integer)
            || ' consecutive fiscal quarters' as rule,
        'Customer ' || coalesce(accounts.account_name, budget_freeze.account_id) || ' (' || budget_freeze.account_id
            || ') reported a net loss in every fiscal quarter from ' || budget_freeze.first_quarter || ' to '
            || budget_freeze.last_quarter || ': its budget may be frozen. At risk: '
            || format('{:,.0f}', cast(at_risk.open_pipeline_cny + at_risk.renewal_base_cny as double))
            || ' CNY (open pipeline ' || format('{:,.0f}', cast(at_risk.open_pipeline_cny as double))
            || ' CNY, renewals due in the next 12 months ' || format('{:,.0f}', cast(at_risk.renewal_base_cny as double))
            || ' CNY). Offer to move it to subscription terms and review its open deals and renewals.' as message
    from budget_freeze
    inner join at_risk on at_risk.account_id = budget_freeze.account_id
    left join {{ ref('stg_crm__accounts') }} as accounts on accounts.account_id = budget_freeze.account_id

    union all
    select
        'attrition', 'blue', 'team', 'all reps', period, value, {{ threshold('alert_monthly_attrition_rate') }},
        'monthly attrition_rate > ' || {{ threshold('alert_monthly_attrition_rate') }},
        'Attrition in ' || period || ' is ' || round(value * 100, 1) || '% of the average headcount (alert above '
            || round({{ threshold('alert_monthly_attrition_rate') }} * 100, 1) || '%): talk with the team leads '
            || 'about retention and plan the backfills.'
    from current_kpis
    where kpi_id = 'attrition_rate'
      and period_type = 'month'
      and value > {{ threshold('alert_monthly_attrition_rate') }}

    union all
    select
        'concentration', 'orange', 'account', top_accounts.account_id, current_kpis.period, current_kpis.value,
        {{ threshold('alert_top_customer_share') }},
        'top_customer_share > ' || {{ threshold('alert_top_customer_share') }},
        'The largest customer, ' || coalesce(accounts.account_name, top_accounts.account_id) || ', makes '
            || round(current_kpis.value * 100, 1) || '% of signed revenue in ' || current_kpis.period
            || ' (alert above ' || round({{ threshold('alert_top_customer_share') }} * 100, 1) || '%): grow the '
            || 'pipeline with other accounts to lower the dependence on one customer.'
    from current_kpis
    left join top_accounts
        on top_accounts.period_type = current_kpis.period_type and top_accounts.period = current_kpis.period
    left join {{ ref('stg_crm__accounts') }} as accounts on accounts.account_id = top_accounts.account_id
    where current_kpis.kpi_id = 'top_customer_share'
      and current_kpis.which = 'running'
      and current_kpis.period_type in ('quarter', 'year')
      and current_kpis.value > {{ threshold('alert_top_customer_share') }}
      -- a few contracts early in a quarter make any customer look dominant
      and (current_kpis.period_type <> 'quarter'
           or current_kpis.elapsed_share >= {{ threshold('alert_concentration_min_elapsed') }})

    union all
    select
        'forecast', 'yellow', 'forecast', 'company forecast', period, value, {{ threshold('alert_forecast_deviation') }},
        '|forecast_deviation| > ' || {{ threshold('alert_forecast_deviation') }},
        'Signed revenue of ' || period || ' was ' || round(abs(value) * 100, 1) || '% '
            || case when value < 0 then 'below' else 'above' end || ' the company forecast (alert beyond '
            || round({{ threshold('alert_forecast_deviation') }} * 100, 1) || '%): review the forecast with the '
            || 'reps before the next submission.'
    from current_kpis
    where kpi_id = 'forecast_deviation'
      and which = 'latest_complete'
      and abs(value) > {{ threshold('alert_forecast_deviation') }}

    union all
    select
        'forecast_call', 'yellow', 'forecast', 'forecast call', period, call_share,
        {{ threshold('alert_forecast_call_share') }},
        '(won + commit) / signed_revenue plan to date < ' || {{ threshold('alert_forecast_call_share') }},
        'The forecast call of ' || period || ' is short: won ' || format('{:,.0f}', won_cny) || ' CNY + commit '
            || format('{:,.0f}', commit_cny) || ' CNY = ' || format('{:,.0f}', won_cny + commit_cny) || ' CNY, '
            || round(call_share * 100, 1) || '% of the plan to date of ' || format('{:,.0f}', plan_to_date)
            || ' CNY (alert below ' || round({{ threshold('alert_forecast_call_share') }} * 100, 1) || '%): move '
            || 'best-case deals to commit or widen the pipeline for this quarter.'
    from forecast_call
    where call_share < {{ threshold('alert_forecast_call_share') }}

    union all
    select
        'channel', 'purple', 'partner', partner_id, null, cast(health_score as double),
        {{ threshold('alert_partner_health_score') }},
        'active partner, not credit-suspended, health_score < ' || {{ threshold('alert_partner_health_score') }},
        'Partner ' || partner_name || ' (' || partner_id || ') has a health score of ' || round(health_score, 1)
            || ' (alert below ' || {{ threshold('alert_partner_health_score') }} || '): hold a business review '
            || 'with it and agree on a recovery plan.'
    from {{ ref('dim_partners') }}
    where is_active_at_as_of
      and not credit_suspended
      and health_score < {{ threshold('alert_partner_health_score') }}

    union all
    select
        'data', 'grey', 'crm_field', table_name || '.' || field, null, completeness,
        {{ threshold('alert_crm_completeness') }},
        'crm_completeness of a key field < ' || {{ threshold('alert_crm_completeness') }},
        'Only ' || round(completeness * 100, 1) || '% of the current ' || table_name || ' have ' || field
            || ' filled (target ' || round({{ threshold('alert_crm_completeness') }} * 100, 1) || '%): ask the '
            || 'owners to complete it; the data-quality checks fail below the target.'
    from field_completeness
    where completeness < {{ threshold('alert_crm_completeness') }}

    union all
    select
        'data', 'grey', 'rep', owner_id, last_week, last_week_completeness,
        {{ threshold('alert_completeness_bottom_reps') }},
        'bottom ' || cast({{ threshold('alert_completeness_bottom_reps') }} as integer)
            || ' of weekly CRM completeness in each of the last '
            || cast({{ threshold('alert_completeness_weeks_in_a_row') }} as integer) || ' complete weeks',
        'Rep ' || owner_id || ' is among the ' || cast({{ threshold('alert_completeness_bottom_reps') }} as integer)
            || ' lowest in CRM completeness of the records created in each of the last '
            || cast({{ threshold('alert_completeness_weeks_in_a_row') }} as integer) || ' weeks ('
            || round(last_week_completeness * 100, 1) || '% last week): go through the key fields with them.'
    from {{ ref('crm_completeness_bottom_reps') }}

    union all
    select
        'data', 'grey', 'kpi',
        attainment.kpi_id || case when attainment.segment = 'all' then '' else ' ' || attainment.segment end,
        attainment.period, cast(null as double), attainment.target,
        'a KPI measured by hand with a target and no value for a period that has ended',
        'Nobody has measured ' || definitions.label_en || ' (' || definitions.label_zh || ') for '
            || attainment.period || ', which ended on ' || strftime(periods.period_end, '%Y-%m-%d')
            || ', although its target is ' || case when attainment.direction = 'lower' then 'at most ' else 'at least ' end
            || case definitions.unit
                when 'ratio' then format('{:.1f}%', attainment.target * 100)
                when 'cny' then format('{:,.0f} CNY', attainment.target)
                else format('{:g}', attainment.target)
            end
            || ': ask the manager''s team to add the value to the manual measurements template '
            || '(bdw template manual-measurements) and drop it in the inbox.'
    from {{ ref('kpi_attainment') }} as attainment
    inner join {{ ref('kpi_definitions') }} as definitions on definitions.kpi_id = attainment.kpi_id
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = attainment.period_type and periods.period = attainment.period
    where attainment.status = 'no_data'
      and attainment.is_complete
)

select
    warnings.kind || ':' || warnings.subject || coalesce(':' || warnings.period, '') as warning_id,
    warnings.kind,
    warnings.colour,
    warnings.subject_type,
    warnings.subject,
    warnings.period,
    warnings.value,
    cast(warnings.threshold as double) as threshold,
    warnings.rule,
    warnings.message,
    cast(at_risk.open_pipeline_cny + at_risk.renewal_base_cny as double) as amount_at_risk_cny
from warnings
left join at_risk
    on warnings.kind = 'budget_freeze' and at_risk.account_id = warnings.subject
