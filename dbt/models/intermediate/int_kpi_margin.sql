-- Margin KPIs in long form: gross_margin and gross_profit with their segments (region_group,
-- region, channel, product_family), overseas_gross_margin, domestic_gross_margin, margin_gap_pp
-- and cost_ratio. Over the counting contracts signed in the period whose revenue is included:
-- revenue is their lines, eligible cost every cost booked to them up to --as-of except the
-- excluded cost types. Segment product_family: a contract's eligible cost is allocated to its
-- lines pro rata by line amount. cost_ratio: the costs of one cost_type (any type, excluded ones
-- too) booked up to --as-of to those contracts / their signed revenue, one row per
-- `cost_type=<type>` (no `all` row).
with contract_periods as (
    select contracts.*, unnest({{ period_keys('contracts.signed_date') }}) as p
    from {{ ref('int_contracts') }} as contracts
    where contracts.is_revenue_included
),

begun as (
    select contract_periods.*
    from contract_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = contract_periods.p.period_type
        and periods.period = contract_periods.p.period
    where periods.has_begun
),

contract_segments as (
    select
        begun.p.period_type as period_type,
        begun.p.period as period,
        begun.revenue_cny,
        begun.eligible_cost_cny,
        unnest({{ segment_list([('region_group', 'region_group'), ('region', 'region'), ('channel', 'channel')]) }})
            as segment
    from begun
),

-- each line with its share of the contract's eligible cost (pro rata by line amount)
line_segments as (
    select
        begun.p.period_type as period_type,
        begun.p.period as period,
        'product_family=' || coalesce(lines.product_family, 'unknown') as segment,
        lines.amount_cny as revenue_cny,
        -- to the millionth of a yuan, so the sums are exact (the same in every build) and still add up
        -- to the contract's cost within a cent
        cast(begun.eligible_cost_cny * lines.amount_cny / nullif(begun.revenue_cny, 0) as decimal(24, 6))
            as eligible_cost_cny
    from begun
    inner join {{ ref('int_contract_lines_cny') }} as lines
        on lines.contract_id = begun.contract_id
        and lines.is_revenue_included
),

margins as (
    select
        period_type,
        period,
        segment,
        cast(sum(revenue_cny) - sum(eligible_cost_cny) as double) as gross_profit_cny,
        {{ safe_ratio('sum(revenue_cny) - sum(eligible_cost_cny)', 'sum(revenue_cny)') }} as gross_margin
    from contract_segments
    group by period_type, period, segment
    union all
    select
        period_type,
        period,
        segment,
        cast(sum(revenue_cny) - sum(coalesce(eligible_cost_cny, 0)) as double),
        {{ safe_ratio('sum(revenue_cny) - sum(coalesce(eligible_cost_cny, 0))', 'sum(revenue_cny)') }}
    from line_segments
    group by period_type, period, segment
),

by_group as (
    select
        period_type,
        period,
        max(gross_margin) filter (where segment = 'region_group=domestic') as domestic_gross_margin,
        max(gross_margin) filter (where segment = 'region_group=overseas') as overseas_gross_margin
    from margins
    group by period_type, period
),

cost_ratios as (
    select
        begun.p.period_type as period_type,
        begun.p.period as period,
        'cost_type=' || costs.cost_type as segment,
        {{ safe_ratio('sum(costs.amount_cny)', 'max(revenue.revenue_cny)') }} as cost_ratio
    from begun
    inner join {{ ref('int_contract_costs') }} as costs
        on costs.contract_id = begun.contract_id
        and costs.is_booked_by_as_of
        and not costs.missing_fx_rate
    inner join {{ ref('int_revenue_by_period') }} as revenue
        on revenue.period_type = begun.p.period_type
        and revenue.period = begun.p.period
    group by all
)

select 'gross_margin' as kpi_id, period_type, period, segment, gross_margin as value
from margins
union all
select 'gross_profit', period_type, period, segment, gross_profit_cny
from margins
union all
select 'domestic_gross_margin', period_type, period, 'all', domestic_gross_margin
from by_group
union all
select 'overseas_gross_margin', period_type, period, 'all', overseas_gross_margin
from by_group
union all
select 'margin_gap_pp', period_type, period, 'all', (domestic_gross_margin - overseas_gross_margin) * 100
from by_group
union all
select 'cost_ratio', period_type, period, segment, cost_ratio
from cost_ratios
