-- Opportunity KPIs in long form (they work from CRM data alone).
-- win_rate, avg_won_deal_size, win_cycle_days: over opportunities closed (closed_at) in the
--   period, with segments owner, channel, region_group and product_family.
-- pipeline_coverage (quarters not yet complete): CNY amount of open opportunities expected to
--   close in the quarter / the quarter's signed_revenue target (seed kpi_targets).
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
        closed_periods.is_won,
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
        {{ safe_ratio('count(*) filter (where is_won)', 'count(*)') }} as win_rate,
        cast(avg(amount_cny) filter (where is_won) as double) as avg_won_deal_size,
        cast(avg(win_cycle_days) filter (where is_won) as double) as win_cycle_days
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
)

select 'win_rate' as kpi_id, period_type, period, segment, win_rate as value from win
union all
select 'avg_won_deal_size', period_type, period, segment, avg_won_deal_size from win
union all
select 'win_cycle_days', period_type, period, segment, win_cycle_days from win
union all
select * from coverage
