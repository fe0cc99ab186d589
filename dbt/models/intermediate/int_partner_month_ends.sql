-- Active partners by month-end (docs/metrics.md channel_productivity): for every month begun by
-- --as-of, the partners active on its last day (or on --as-of for the month still running):
-- onboarded_date on or before that day and terminated_date null or after it. Also how many of
-- them were certified by then and their mean (current) health score.
select
    months.period as month,
    months.period_start as month_start,
    months.measure_date,
    count(partners.partner_id) as active_partners,
    count(partners.partner_id) filter (where partners.certified_date <= months.measure_date) as certified_partners,
    avg(partners.health_score) as health_score_avg
from {{ ref('int_periods') }} as months
left join {{ ref('stg_crm__partners') }} as partners
    on partners.onboarded_date <= months.measure_date
    and (partners.terminated_date is null or partners.terminated_date > months.measure_date)
where months.period_type = 'month'
  and months.has_begun
group by months.period, months.period_start, months.measure_date
