-- Weekly CRM completeness leaderboard by rep (docs/metrics.md crm_completeness "per period: over the
-- records created in it", segment owner; section 5 "data"): for every ISO week (Monday to Sunday)
-- and every rep who created records in it, the share of filled key-field cells of those records
-- (accounts and opportunities, key fields of the seed crm_key_fields), ranked within the week.
-- Reps are ids only (names are personal data). It reads marts.crm_record_completeness (one row per
-- record). The run's own snapshot over all current records is in dq.crm_completeness_history
-- (appended by the Great Expectations step).
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

records as (
    select
        owner_id,
        cast(date_trunc('week', created_at) as date) as week_start,
        key_fields,
        key_fields - empty_fields as filled_fields
    from {{ ref('crm_record_completeness') }}, as_of
    where owner_id is not null
      and created_at <= as_of.as_of_date
),

by_rep as (
    select
        week_start,
        owner_id,
        cast(sum(key_fields) as bigint) as cells,
        cast(sum(filled_fields) as bigint) as filled_cells,
        cast(sum(filled_fields) as double) / sum(key_fields) as completeness
    from records
    group by week_start, owner_id
),

ranked as (
    select
        by_rep.*,
        rank() over (partition by week_start order by completeness desc) as rank_best,
        rank() over (partition by week_start order by completeness asc) as rank_worst,
        count(*) over (partition by week_start) as reps_in_week
    from by_rep
)

select
    strftime(ranked.week_start, '%G-W%V') as week,
    ranked.week_start,
    ranked.week_start + 6 as week_end,
    ranked.week_start + 6 <= as_of.as_of_date as is_complete_week,
    ranked.owner_id,
    ranked.cells,
    ranked.filled_cells,
    ranked.completeness,
    ranked.rank_best,
    ranked.rank_worst,
    ranked.reps_in_week,
    -- docs/metrics.md section 5: the bottom N (seed kpi_thresholds) of the week, among reps not at 100%
    ranked.rank_worst <= {{ threshold('alert_completeness_bottom_reps') }}
        and ranked.completeness < 1 as is_bottom,
    ranked.completeness >= {{ threshold('alert_crm_completeness') }} as meets_target
from ranked, as_of
