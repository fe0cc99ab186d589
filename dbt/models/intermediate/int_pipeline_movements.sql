-- How each quarter's pipeline moved (docs/metrics.md section 8), deal by deal. For every quarter
-- begun by --as-of that has a pipeline snapshot on or before it: S0 = its earliest snapshot, S1 =
-- its latest snapshot on or before --as-of. The quarter's pipeline at a snapshot is the open
-- opportunities (stage not closed_*) expected to close in the quarter; amounts are CNY at the
-- snapshot month's rate (an empty amount, or one without a rate, counts as 0: the deal still moves).
-- One row per opportunity in the pipeline at S0 or at S1 (a0, a1), with its movement:
--   in both:      increased / decreased (a1 - a0; no change: movement NULL)
--   only at S0:   won / lost (closed_won / closed_lost at S1), pushed_out (open at S1, expected to
--                 close after the quarter), removed (absent from S1, or anything else) - each -a0
--   only at S1:   created (absent from S0, or created after it), reopened (closed at S0),
--                 pulled_in (open at S0, expected to close outside the quarter) - each +a1
-- A deal missing from S1 whose current state is closed on or before S1 is taken as closed at S1
-- (weekly exports often leave closed deals out). Deals whose current state has a reference
-- problem (missing_partner_id) are left out. Opening + Σ movements = closing, to the cent.
with snapshot_days as (
    select distinct snapshot_date
    from {{ ref('stg_crm__opportunity_snapshots') }}
    where snapshot_date <= {{ as_of_date() }}
),

quarters as (
    select
        periods.period as quarter,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        min(snapshot_days.snapshot_date) as s0_date,
        max(snapshot_days.snapshot_date) as s1_date
    from {{ ref('int_periods') }} as periods
    inner join snapshot_days
        on snapshot_days.snapshot_date between periods.period_start and periods.period_end
    where periods.period_type = 'quarter'
      and periods.has_begun
    group by all
),

snapshots as (
    select
        snapshots.snapshot_date,
        snapshots.opportunity_id,
        snapshots.stage,
        snapshots.stage in ('closed_won', 'closed_lost') as is_closed,
        snapshots.expected_close_date,
        coalesce(snapshots.amount_cny, 0) as amount_cny
    from {{ ref('stg_crm__opportunity_snapshots') }} as snapshots
    left join {{ ref('int_opportunities') }} as opportunities
        on opportunities.opportunity_id = snapshots.opportunity_id
    where coalesce(opportunities.is_kpi_included, true)
),

at_s0 as (
    select
        quarters.quarter,
        snapshots.*,
        not snapshots.is_closed
            and snapshots.expected_close_date between quarters.period_start and quarters.period_end as in_pipeline
    from quarters
    inner join snapshots on snapshots.snapshot_date = quarters.s0_date
),

at_s1 as (
    select
        quarters.quarter,
        snapshots.*,
        not snapshots.is_closed
            and snapshots.expected_close_date between quarters.period_start and quarters.period_end as in_pipeline
    from quarters
    inner join snapshots on snapshots.snapshot_date = quarters.s1_date
),

deals as (
    select quarter, opportunity_id from at_s0 where in_pipeline
    union
    select quarter, opportunity_id from at_s1 where in_pipeline
),

states as (
    select
        deals.quarter,
        quarters.period_end,
        quarters.s0_date,
        quarters.s1_date,
        deals.opportunity_id,
        coalesce(at_s0.in_pipeline, false) as in_s0,
        coalesce(at_s1.in_pipeline, false) as in_s1,
        at_s0.opportunity_id is not null as seen_at_s0,
        at_s0.is_closed as closed_at_s0,
        at_s0.amount_cny as a0,
        at_s1.amount_cny as a1,
        -- the stage at S1: the snapshot's, else the current state when closed by then
        coalesce(
            at_s1.stage,
            case when opportunities.is_closed and opportunities.closed_at <= quarters.s1_date then opportunities.stage end
        ) as stage_s1,
        at_s1.expected_close_date as expected_close_s1,
        opportunities.created_at,
        opportunities.owner_id,
        opportunities.account_id,
        opportunities.channel,
        opportunities.region_group
    from deals
    inner join quarters on quarters.quarter = deals.quarter
    left join at_s0 on at_s0.quarter = deals.quarter and at_s0.opportunity_id = deals.opportunity_id
    left join at_s1 on at_s1.quarter = deals.quarter and at_s1.opportunity_id = deals.opportunity_id
    left join {{ ref('int_opportunities') }} as opportunities on opportunities.opportunity_id = deals.opportunity_id
),

classified as (
    select
        *,
        case
            when in_s0 and in_s1 then
                case when a1 > a0 then 'increased' when a1 < a0 then 'decreased' end
            when in_s0 then
                case
                    when stage_s1 = 'closed_won' then 'won'
                    when stage_s1 = 'closed_lost' then 'lost'
                    when stage_s1 is not null and expected_close_s1 > period_end then 'pushed_out'
                    else 'removed'
                end
            when not seen_at_s0 or created_at > s0_date then 'created'
            when closed_at_s0 then 'reopened'
            else 'pulled_in'
        end as movement
    from states
)

select
    quarter,
    opportunity_id,
    owner_id,
    account_id,
    channel,
    region_group,
    s0_date as opening_snapshot_date,
    s1_date as closing_snapshot_date,
    in_s0 as in_opening,
    in_s1 as in_closing,
    case when in_s0 then a0 else 0 end as opening_cny,
    case when in_s1 then a1 else 0 end as closing_cny,
    movement,
    case
        when in_s0 and in_s1 then a1 - a0
        when in_s0 then -a0
        else a1
    end as movement_cny
from classified
