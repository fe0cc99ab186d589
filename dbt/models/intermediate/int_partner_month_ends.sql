-- Active partners by month-end (docs/metrics.md channel_productivity): for every month begun by
-- --as-of, how many partners were active on its last day (or on --as-of for the month still
-- running), how many of them were certified by then and their mean health score, each as of that
-- day (int_active_partners).
select
    months.period as month,
    months.period_start as month_start,
    months.measure_date,
    count(active.partner_id) as active_partners,
    count(active.partner_id) filter (where active.is_certified) as certified_partners,
    avg(active.health_score) as health_score_avg
from {{ ref('int_periods') }} as months
left join {{ ref('int_active_partners') }} as active
    on active.month = months.period
where months.period_type = 'month'
  and months.has_begun
group by months.period, months.period_start, months.measure_date
