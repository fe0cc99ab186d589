-- Margin KPIs in long form: gross_margin and gross_profit with their segments (region_group,
-- region, channel), overseas_gross_margin, domestic_gross_margin and margin_gap_pp. Over the
-- counting contracts signed in the period whose revenue is included: revenue is their lines,
-- eligible cost every cost booked to them up to --as-of except the excluded cost types.
with contract_periods as (
    select contracts.*, unnest({{ period_keys('contracts.signed_date') }}) as p
    from {{ ref('int_contracts') }} as contracts
    where contracts.is_revenue_included
),

contract_segments as (
    select
        contract_periods.p.period_type as period_type,
        contract_periods.p.period as period,
        contract_periods.revenue_cny,
        contract_periods.eligible_cost_cny,
        unnest({{ segment_list([('region_group', 'region_group'), ('region', 'region'), ('channel', 'channel')]) }})
            as segment
    from contract_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = contract_periods.p.period_type
        and periods.period = contract_periods.p.period
    where periods.has_begun
),

margins as (
    select
        period_type,
        period,
        segment,
        sum(revenue_cny) as revenue_cny,
        sum(revenue_cny) - sum(eligible_cost_cny) as gross_profit_cny,
        {{ safe_ratio('sum(revenue_cny) - sum(eligible_cost_cny)', 'sum(revenue_cny)') }} as gross_margin
    from contract_segments
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
)

select 'gross_margin' as kpi_id, period_type, period, segment, gross_margin as value
from margins
union all
select 'gross_profit', period_type, period, segment, cast(gross_profit_cny as double)
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
