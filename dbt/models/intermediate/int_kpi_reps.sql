-- Per-rep KPIs in long form (docs/metrics.md section 7), segments `all` and `owner=<rep_id>`.
-- quota_attainment (years, quarters): signed revenue / quota of the reps with a quota for the
--   period (int_rep_quotas); 0 for a rep with a quota who signed nothing.
-- customer_visits_per_day (months, quarters, years): activities of type visit or meeting by reps
--   of teams direct, channel and overseas, counted once per (owner, account, day), up to --as-of,
--   / (working days Monday to Friday of the period up to --as-of x average headcount of those
--   teams); per rep, the rep's visits / the working days of the period up to --as-of on which the
--   rep was employed. A visit on a weekend counts, its day is no working day. Periods without any
--   counted visit have no value.
-- presales_effort_share (quarters, years; segment industry only): activities by reps of team
--   presales on accounts of the industry / all their activities on accounts with an industry.
with periods as (
    select * from {{ ref('int_periods') }} where has_begun
),

field_reps as (
    select rep_id, hire_date, leave_date
    from {{ ref('stg_hr__reps') }}
    where team in ('direct', 'channel', 'overseas')
),

visits as (
    select distinct activities.owner_id, activities.account_id, activities.activity_date
    from {{ ref('stg_crm__activities') }} as activities
    inner join field_reps on field_reps.rep_id = activities.owner_id
    where activities.activity_type in ('visit', 'meeting')
      and activities.activity_date <= {{ as_of_date() }}
),

visit_counts as (
    select period_type, period, segment, count(*) as visits
    from (
        select visit_periods.p.period_type as period_type, visit_periods.p.period as period,
               unnest(['all', 'owner=' || visit_periods.owner_id]) as segment
        from (select owner_id, unnest({{ period_keys('activity_date') }}) as p from visits) as visit_periods
    ) as segmented
    group by period_type, period, segment
),

working_days as (
    select periods.period_type, periods.period, cast(days.day as date) as day
    from periods
    cross join lateral (
        select unnest(generate_series(periods.period_start, periods.measure_date, interval 1 day)) as day
    ) as days
    where isodow(days.day) <= 5
),

field_headcount as (
    select period_months.period_type, period_months.period, avg(month_ends.field_headcount) as avg_headcount
    from {{ ref('int_period_months') }} as period_months
    inner join {{ ref('int_headcount_month_ends') }} as month_ends on month_ends.month = period_months.month
    group by period_months.period_type, period_months.period
),

denominators as (
    select working_days.period_type, working_days.period, 'all' as segment,
           count(*) * max(field_headcount.avg_headcount) as rep_days
    from working_days
    inner join field_headcount
        on field_headcount.period_type = working_days.period_type and field_headcount.period = working_days.period
    group by working_days.period_type, working_days.period
    union all
    select working_days.period_type, working_days.period, 'owner=' || field_reps.rep_id, count(*)
    from working_days
    inner join field_reps
        on field_reps.hire_date <= working_days.day
        and (field_reps.leave_date is null or field_reps.leave_date > working_days.day)
    group by all
),

visits_per_day as (
    select
        denominators.period_type,
        denominators.period,
        denominators.segment,
        {{ safe_ratio('coalesce(visit_counts.visits, 0)', 'denominators.rep_days') }} as value
    from denominators
    left join visit_counts
        on visit_counts.period_type = denominators.period_type
        and visit_counts.period = denominators.period
        and visit_counts.segment = denominators.segment
    -- a period with no counted visit at all has no value (no activity data), not 0
    where exists (
        select 1 from visit_counts as any_visit
        where any_visit.period_type = denominators.period_type
          and any_visit.period = denominators.period
          and any_visit.segment = 'all'
    )
),

-- presales_effort_share (quarters, years): activities by reps of team presales on accounts of an
-- industry / all their activities on accounts with an industry, up to --as-of
presales_activities as (
    select activity_periods.p.period_type as period_type, activity_periods.p.period as period,
           activity_periods.industry
    from (
        select accounts.industry, unnest({{ period_keys('activities.activity_date') }}) as p
        from {{ ref('stg_crm__activities') }} as activities
        inner join {{ ref('stg_hr__reps') }} as reps
            on reps.rep_id = activities.owner_id and reps.team = 'presales'
        inner join {{ ref('stg_crm__accounts') }} as accounts
            on accounts.account_id = activities.account_id
        where accounts.industry is not null
          and activities.activity_date <= {{ as_of_date() }}
    ) as activity_periods
    where activity_periods.p.period_type in ('year', 'quarter')
),

presales_shares as (
    select period_type, period, 'industry=' || industry as segment,
           cast(count(*) as double) / sum(count(*)) over (partition by period_type, period) as value
    from presales_activities
    group by period_type, period, industry
)

select 'quota_attainment' as kpi_id, period_type, period, segment,
       {{ safe_ratio('signed_revenue_cny', 'quota_cny') }} as value
from {{ ref('int_rep_quotas') }}
union all
select 'customer_visits_per_day', period_type, period, segment, value
from visits_per_day
union all
select 'presales_effort_share', period_type, period, segment, value
from presales_shares
