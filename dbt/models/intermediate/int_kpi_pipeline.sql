-- Opportunity KPIs in long form (they work from CRM data alone).
-- win_rate, avg_won_deal_size, win_cycle_days: over opportunities closed (closed_at) in the
--   period, with segments owner, channel, region_group and product_family; a won deal whose
--   contract was cancelled counts as lost (int_opportunities.counts_as_won).
-- pipeline_coverage (quarters not yet complete): CNY amount of open opportunities expected to
--   close in the quarter / the quarter's signed_revenue target (seed kpi_targets).
-- pipeline_open_amount (quarters, months; docs/metrics.md section 8): the open opportunities
--   expected to close in the period, in CNY - for a complete period as the last snapshot on or
--   before its end shows them (amounts at the snapshot month's rate), for the running period their
--   current state (at the --as-of month's rate). Segments forecast_category (as at that point, a
--   blank one counts as `pipeline`), region_group, channel, industry, owner.
-- pipeline_created_amount (months, quarters, years): current amount (at the --as-of month's rate)
--   of the opportunities created in the period. Segments region_group, channel, industry, owner.
with closed_periods as (
    select opportunities.*, unnest({{ period_keys('opportunities.closed_at') }}) as p
    from {{ ref('int_opportunities') }} as opportunities
    where opportunities.is_kpi_included
      and opportunities.is_closed
      and opportunities.closed_at <= {{ as_of_date() }}
),

closed_segments as (
    select
        closed_periods.p.period_type as period_type,
        closed_periods.p.period as period,
        closed_periods.counts_as_won,
        closed_periods.amount_cny,
        closed_periods.win_cycle_days,
        unnest({{ segment_list([
            ('owner', 'owner_id'), ('channel', 'channel'), ('region_group', 'region_group'),
            ('product_family', 'product_family')]) }}) as segment
    from closed_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = closed_periods.p.period_type
        and periods.period = closed_periods.p.period
    where periods.has_begun
),

win as (
    select
        period_type,
        period,
        segment,
        {{ safe_ratio('count(*) filter (where counts_as_won)', 'count(*)') }} as win_rate,
        cast(avg(amount_cny) filter (where counts_as_won) as double) as avg_won_deal_size,
        cast(avg(win_cycle_days) filter (where counts_as_won) as double) as win_cycle_days
    from closed_segments
    group by period_type, period, segment
),

coverage as (
    select
        'pipeline_coverage' as kpi_id,
        periods.period_type,
        periods.period,
        'all' as segment,
        {{ safe_ratio(
            '(select coalesce(sum(open_opps.amount_cny), 0) from ' ~ ref('int_opportunities') ~ ' as open_opps
              where open_opps.is_kpi_included and not open_opps.is_closed and open_opps.amount_cny is not null
                and open_opps.expected_close_date between periods.period_start and periods.period_end)',
            'targets.target') }} as value
    from {{ ref('int_periods') }} as periods
    inner join {{ ref('kpi_targets') }} as targets
        on targets.kpi_id = 'signed_revenue'
        and targets.period_type = 'quarter'
        and targets.segment = 'all'
        and targets.period = periods.period
    where periods.period_type = 'quarter'
      and not periods.is_complete
      and exists (select 1 from {{ ref('stg_crm__opportunities') }})
),

-- the last snapshot on or before the end of every complete quarter and month
period_snapshots as (
    select periods.period_type, periods.period, periods.period_start, periods.period_end,
           max(snapshot_days.snapshot_date) as snapshot_date
    from {{ ref('int_periods') }} as periods
    inner join (select distinct snapshot_date from {{ ref('stg_crm__opportunity_snapshots') }}) as snapshot_days
        on snapshot_days.snapshot_date <= periods.period_end
    where periods.period_type in ('quarter', 'month')
      and periods.is_complete
    group by all
),

open_pipeline as (
    select
        period_snapshots.period_type,
        period_snapshots.period,
        snapshots.amount_cny,
        coalesce(snapshots.forecast_category, 'pipeline') as forecast_category,
        opportunities.region_group,
        opportunities.channel,
        opportunities.industry,
        opportunities.owner_id
    from period_snapshots
    inner join {{ ref('stg_crm__opportunity_snapshots') }} as snapshots
        on snapshots.snapshot_date = period_snapshots.snapshot_date
    left join {{ ref('int_opportunities') }} as opportunities
        on opportunities.opportunity_id = snapshots.opportunity_id
    where snapshots.stage not in ('closed_won', 'closed_lost')
      and snapshots.expected_close_date between period_snapshots.period_start and period_snapshots.period_end
      and snapshots.amount_cny is not null
      and coalesce(opportunities.is_kpi_included, true)
    union all
    select
        periods.period_type,
        periods.period,
        opportunities.amount_cny_as_of,
        coalesce(opportunities.forecast_category, 'pipeline'),
        opportunities.region_group,
        opportunities.channel,
        opportunities.industry,
        opportunities.owner_id
    from {{ ref('int_periods') }} as periods
    inner join {{ ref('int_opportunities') }} as opportunities
        on opportunities.expected_close_date between periods.period_start and periods.period_end
    where periods.period_type in ('quarter', 'month')
      and periods.has_begun
      and not periods.is_complete
      and opportunities.is_kpi_included
      and not opportunities.is_closed
      and opportunities.created_at <= {{ as_of_date() }}
      and opportunities.amount_cny_as_of is not null
),

created as (
    select created_periods.p.period_type as period_type, created_periods.p.period as period,
           created_periods.amount_cny_as_of, created_periods.region_group, created_periods.channel,
           created_periods.industry, created_periods.owner_id
    from (
        select opportunities.*, unnest({{ period_keys('opportunities.created_at') }}) as p
        from {{ ref('int_opportunities') }} as opportunities
        where opportunities.is_kpi_included
          and opportunities.created_at <= {{ as_of_date() }}
          and opportunities.amount_cny_as_of is not null
    ) as created_periods
),

pipeline_amounts as (
    select 'pipeline_open_amount' as kpi_id, period_type, period, amount_cny,
           unnest({{ segment_list([
               ('forecast_category', 'forecast_category'), ('region_group', 'region_group'),
               ('channel', 'channel'), ('industry', 'industry'), ('owner', 'owner_id')]) }}) as segment
    from open_pipeline
    union all
    select 'pipeline_created_amount', period_type, period, amount_cny_as_of,
           unnest({{ segment_list([
               ('region_group', 'region_group'), ('channel', 'channel'), ('industry', 'industry'),
               ('owner', 'owner_id')]) }})
    from created
)

select 'win_rate' as kpi_id, period_type, period, segment, win_rate as value from win
union all
select 'avg_won_deal_size', period_type, period, segment, avg_won_deal_size from win
union all
select 'win_cycle_days', period_type, period, segment, win_cycle_days from win
union all
select * from coverage
union all
select kpi_id, period_type, period, segment, cast(sum(amount_cny) as double)
from pipeline_amounts
group by kpi_id, period_type, period, segment
