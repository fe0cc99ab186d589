-- Which months of each period have begun by --as-of, with the day each is measured on: the month's
-- last day, or --as-of for the month still running. Averages over a period (headcount, active
-- partners) and pooled monthly KPIs (forecast accuracy) take these months.
select
    periods.period_type,
    periods.period,
    months.period as month,
    months.period_start as month_start,
    months.measure_date as month_measure_date,
    months.is_complete as month_is_complete
from {{ ref('int_periods') }} as periods
inner join {{ ref('int_periods') }} as months
    on months.period_type = 'month'
    and months.period_start between periods.period_start and periods.period_end
where months.has_begun
