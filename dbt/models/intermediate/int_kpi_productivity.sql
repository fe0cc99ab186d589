-- Productivity KPIs in long form: channel_productivity (partner revenue / average active
-- partners), direct_productivity (direct revenue / average headcount of team direct) and
-- revenue_per_head (signed revenue / average headcount of all reps). Averages are taken over the
-- period's month-ends that have begun (--as-of for the month still running).
with averages as (
    select
        period_months.period_type,
        period_months.period,
        avg(partners.active_partners) as avg_active_partners,
        avg(headcount.headcount) as avg_headcount,
        avg(headcount.direct_headcount) as avg_direct_headcount
    from {{ ref('int_period_months') }} as period_months
    left join {{ ref('int_partner_month_ends') }} as partners on partners.month = period_months.month
    left join {{ ref('int_headcount_month_ends') }} as headcount on headcount.month = period_months.month
    group by period_months.period_type, period_months.period
)

select kpi_id, revenue.period_type, revenue.period, 'all' as segment, value
from {{ ref('int_revenue_by_period') }} as revenue
inner join averages
    on averages.period_type = revenue.period_type and averages.period = revenue.period
cross join lateral (
    values
        ('channel_productivity', {{ safe_ratio('revenue.partner_revenue_cny', 'averages.avg_active_partners') }}),
        ('direct_productivity', {{ safe_ratio('revenue.direct_revenue_cny', 'averages.avg_direct_headcount') }}),
        ('revenue_per_head', {{ safe_ratio('revenue.revenue_cny', 'averages.avg_headcount') }})
) as kpis(kpi_id, value)
