-- Reps in the bottom N of weekly CRM completeness in each of the last M complete weeks
-- (docs/metrics.md section 5, "data"; N = alert_completeness_bottom_reps, M =
-- alert_completeness_weeks_in_a_row of the seed kpi_thresholds), from the weekly leaderboard.
-- The last complete weeks are those that ended on or before --as-of, as in marts.early_warnings.
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

weeks as (
    select cast(date_trunc('week', as_of.as_of_date + 1) as date) - 7 * cast(k as integer) as week_start
    from as_of, (
        select unnest(generate_series(1, cast({{ threshold('alert_completeness_weeks_in_a_row') }} as integer))) as k
    )
),

bottom as (
    select weekly.*
    from {{ ref('crm_completeness_weekly') }} as weekly
    inner join weeks on weeks.week_start = weekly.week_start
    where weekly.is_bottom
)

select
    owner_id,
    count(*) as weeks_in_bottom,
    min(week) as first_week,
    max(week) as last_week,
    max_by(completeness, week_start) as last_week_completeness,
    max_by(rank_worst, week_start) as last_week_rank_worst,
    list(round(completeness, 4) order by week_start) as weekly_completeness
from bottom
group by owner_id
having count(*) = cast({{ threshold('alert_completeness_weeks_in_a_row') }} as integer)
