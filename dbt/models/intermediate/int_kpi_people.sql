-- People KPIs in long form.
-- headcount, big_deal_lead_count, overseas_consultant_count: reps employed at period end (its
--   last day, or --as-of while it runs); absent when nobody is employed then.
-- attrition_rate: reps whose leave_date falls in the period (up to --as-of) / average headcount.
-- high_performer_share (years): reviews graded A or A+ / reviews; a year takes its `YYYY`
--   reviews, else its half-years (`YYYY-H1`, `YYYY-H2`) pooled.
with periods as (
    select * from {{ ref('int_periods') }} where has_begun
),

at_end as (
    select periods.period_type, periods.period, month_ends.*
    from periods
    inner join {{ ref('int_headcount_month_ends') }} as month_ends
        on month_ends.measure_date = periods.measure_date
    where month_ends.headcount > 0
),

average_headcount as (
    select period_months.period_type, period_months.period, avg(month_ends.headcount) as avg_headcount
    from {{ ref('int_period_months') }} as period_months
    inner join {{ ref('int_headcount_month_ends') }} as month_ends on month_ends.month = period_months.month
    group by period_months.period_type, period_months.period
),

leavers as (
    select periods.period_type, periods.period, count(reps.rep_id) as leavers
    from periods
    left join {{ ref('stg_hr__reps') }} as reps
        on reps.leave_date between periods.period_start and periods.measure_date
    group by periods.period_type, periods.period
),

reviews as (
    select
        periods.period,
        reviews.is_high_performer,
        -- the year's own review if the year has one, else its half-years
        reviews.period_type = 'year'
            or not bool_or(reviews.period_type = 'year') over (partition by periods.period) as is_used
    from periods
    inner join {{ ref('stg_hr__rep_reviews') }} as reviews
        on reviews.review_year = periods.period_year
    where periods.period_type = 'year'
)

select kpi_id, period_type, period, 'all' as segment, value
from at_end
cross join lateral (
    values
        ('headcount', cast(at_end.headcount as double)),
        ('big_deal_lead_count', cast(at_end.big_deal_lead_count as double)),
        ('overseas_consultant_count', cast(at_end.overseas_consultant_count as double))
) as kpis(kpi_id, value)
union all
select 'attrition_rate', leavers.period_type, leavers.period, 'all',
       {{ safe_ratio('leavers.leavers', 'average_headcount.avg_headcount') }}
from leavers
inner join average_headcount
    on average_headcount.period_type = leavers.period_type and average_headcount.period = leavers.period
union all
select 'high_performer_share', 'year', period, 'all',
       avg(case when is_high_performer then 1.0 else 0.0 end)
from reviews
where is_used
group by period
