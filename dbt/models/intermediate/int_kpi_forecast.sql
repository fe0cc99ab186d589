-- Forecast KPIs in long form.
-- forecast_accuracy: hits / size of the month's forecast set; quarters and years pool the sets of
--   their months (Σ hits / Σ size).
-- forecast_accuracy_amount: 1 - |A - F| / A per month, F the set's commit amount in CNY at the
--   snapshot, A the month's signed revenue; absent when A is 0 or absent. Quarters and years
--   pool the months that have a value: 1 - Σ|A - F| / ΣA.
-- forecast_deviation (months and quarters): (signed revenue - F) / F, F the `company` forecast
--   for the period with the latest submitted_at before the period began.
with month_sets as (
    select
        month,
        count(*) as set_size,
        count(*) filter (where is_hit) as hits,
        sum(commit_amount_cny) as commit_amount_cny
    from {{ ref('int_forecast_sets') }}
    group by month
),

month_amounts as (
    select
        month_sets.month,
        cast(month_sets.commit_amount_cny as double) as forecast_cny,
        cast(revenue.revenue_cny as double) as actual_cny
    from month_sets
    inner join {{ ref('int_revenue_by_period') }} as revenue
        on revenue.period_type = 'month' and revenue.period = month_sets.month
    where revenue.revenue_cny > 0
      and month_sets.commit_amount_cny is not null
),

accuracy as (
    select
        'forecast_accuracy' as kpi_id,
        period_months.period_type,
        period_months.period,
        {{ safe_ratio('sum(month_sets.hits)', 'sum(month_sets.set_size)') }} as value
    from {{ ref('int_period_months') }} as period_months
    inner join month_sets on month_sets.month = period_months.month
    group by period_months.period_type, period_months.period
),

accuracy_amount as (
    select
        'forecast_accuracy_amount' as kpi_id,
        period_months.period_type,
        period_months.period,
        1 - {{ safe_ratio('sum(abs(month_amounts.actual_cny - month_amounts.forecast_cny))', 'sum(month_amounts.actual_cny)') }}
            as value
    from {{ ref('int_period_months') }} as period_months
    inner join month_amounts on month_amounts.month = period_months.month
    group by period_months.period_type, period_months.period
),

company_forecasts as (
    select
        periods.period_type,
        periods.period,
        arg_max(forecasts.forecast_amount_cny, forecasts.submitted_at) as forecast_cny
    from {{ ref('int_periods') }} as periods
    inner join {{ ref('stg_crm__forecasts') }} as forecasts
        on forecasts.is_company
        and forecasts.period_type = periods.period_type
        and forecasts.period = periods.period
        and forecasts.submitted_at < periods.period_start
    where periods.has_begun
      and periods.period_type in ('month', 'quarter')
    group by periods.period_type, periods.period
),

deviation as (
    select
        'forecast_deviation' as kpi_id,
        company_forecasts.period_type,
        company_forecasts.period,
        {{ safe_ratio('revenue.revenue_cny - company_forecasts.forecast_cny', 'company_forecasts.forecast_cny') }}
            as value
    from company_forecasts
    inner join {{ ref('int_revenue_by_period') }} as revenue
        on revenue.period_type = company_forecasts.period_type and revenue.period = company_forecasts.period
)

select kpi_id, period_type, period, 'all' as segment, value from accuracy
union all
select kpi_id, period_type, period, 'all', value from accuracy_amount
union all
select kpi_id, period_type, period, 'all', value from deviation
