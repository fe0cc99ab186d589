-- Partner KPIs in long form, at period end (its last day, or --as-of while it runs):
-- partner_certified_share (active partners certified on or before that day / active partners)
-- and partner_health_avg (mean health_score of the active partners). gold_partner_revenue is a
-- revenue KPI (int_kpi_revenue).
select kpi_id, periods.period_type, periods.period, 'all' as segment, value
from {{ ref('int_periods') }} as periods
inner join {{ ref('int_partner_month_ends') }} as month_ends
    on month_ends.measure_date = periods.measure_date
cross join lateral (
    values
        ('partner_certified_share', {{ safe_ratio('month_ends.certified_partners', 'month_ends.active_partners') }}),
        ('partner_health_avg', cast(month_ends.health_score_avg as double))
) as kpis(kpi_id, value)
where periods.has_begun
  and month_ends.active_partners > 0
