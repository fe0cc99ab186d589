-- Forecast sets (docs/metrics.md forecast_accuracy): for every month with a pipeline snapshot, the
-- earliest snapshot of that month; its opportunities with forecast_category = 'commit' and
-- expected_close_date in that month form the month's forecast set. A member is a hit when the
-- opportunity's current state is closed_won with closed_at in that month. One row per month and
-- member. Opportunities whose current state has a reference problem (missing_partner_id) are
-- left out; one deleted since the snapshot stays in the set as a miss.
with first_snapshot as (
    select strftime(snapshot_date, '%Y-%m') as month, min(snapshot_date) as snapshot_date
    from {{ ref('stg_crm__opportunity_snapshots') }}
    group by strftime(snapshot_date, '%Y-%m')
)

select
    first_snapshot.month,
    first_snapshot.snapshot_date,
    snapshots.opportunity_id,
    opportunities.owner_id,
    opportunities.account_id,
    snapshots.expected_close_date,
    snapshots.amount_cny as commit_amount_cny,
    snapshots.missing_fx_rate,
    opportunities.stage as current_stage,
    opportunities.closed_at as current_closed_at,
    coalesce(
        opportunities.stage = 'closed_won' and strftime(opportunities.closed_at, '%Y-%m') = first_snapshot.month,
        false
    ) as is_hit
from {{ ref('stg_crm__opportunity_snapshots') }} as snapshots
inner join first_snapshot
    on first_snapshot.snapshot_date = snapshots.snapshot_date
left join {{ ref('stg_crm__opportunities') }} as opportunities
    on opportunities.opportunity_id = snapshots.opportunity_id
where snapshots.forecast_category = 'commit'
  and strftime(snapshots.expected_close_date, '%Y-%m') = first_snapshot.month
  and not coalesce(opportunities.missing_partner_id, false)
