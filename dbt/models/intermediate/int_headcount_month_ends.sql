-- Headcount by month-end (docs/metrics.md average headcount): for every month begun by --as-of, the
-- reps employed on its last day (or on --as-of for the month still running): hire_date on or
-- before that day and leave_date null or after it. Also the direct team and the role tags.
select
    months.period as month,
    months.period_start as month_start,
    months.measure_date,
    count(reps.rep_id) as headcount,
    count(reps.rep_id) filter (where reps.team = 'direct') as direct_headcount,
    -- the teams that visit customers (customer_visits_per_day)
    count(reps.rep_id) filter (where reps.team in ('direct', 'channel', 'overseas')) as field_headcount,
    count(reps.rep_id) filter (where reps.is_big_deal_lead) as big_deal_lead_count,
    count(reps.rep_id) filter (where reps.is_overseas_consultant) as overseas_consultant_count
from {{ ref('int_periods') }} as months
left join {{ ref('stg_hr__reps') }} as reps
    on reps.hire_date <= months.measure_date
    and (reps.leave_date is null or reps.leave_date > months.measure_date)
where months.period_type = 'month'
  and months.has_begun
group by months.period, months.period_start, months.measure_date
