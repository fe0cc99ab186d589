-- The battle map's scorecard: one row per KPI and period for segment `all`, and one per KPI,
-- period and segment that has a target (the strategic and partner renewal rates, the milestones),
-- with labels in Chinese and English, value, target, plan to date and status (marts.kpi_attainment),
-- how far the period has run, the run rate of a sum in progress, and last year's value. A KPI measured
-- by hand is marked so, with when and from where its value was measured; its target without a value
-- is a row too (status `no_data`: missing data, not missed).
with nodes as (
    select kpi_id, period_type, period, segment, value, unit, target, status, is_complete
    from {{ ref('kpi_values') }}
    where segment = 'all' or target is not null
    union all
    select kpi_id, period_type, period, segment, value, unit, target, status, is_complete
    from {{ ref('kpi_attainment') }}
    where value is null
)

select
    kv.kpi_id,
    definitions.sort_order,
    definitions.family,
    definitions.label_zh,
    definitions.label_en,
    kv.unit,
    kv.period_type,
    kv.period,
    kv.segment,
    periods.period_start,
    periods.period_end,
    kv.value,
    kv.target,
    attainment.plan_to_date,
    attainment.attainment,
    attainment.gap_to_plan,
    kv.status,
    attainment.milestone_date,
    kv.is_complete,
    periods.elapsed_share,
    -- as marts.kpi_attainment.run_rate, also for sums without a target
    case
        when not kv.is_complete and definitions.prorate_in_progress and periods.elapsed_share > 0
            then kv.value / periods.elapsed_share
    end as run_rate_value,
    prior.value as prior_year_value,
    definitions.family = 'manual' as is_measured_by_hand,
    manual.measured_at,
    manual.source_note
from nodes as kv
inner join {{ ref('kpi_definitions') }} as definitions
    on definitions.kpi_id = kv.kpi_id
inner join {{ ref('int_periods') }} as periods
    on periods.period_type = kv.period_type and periods.period = kv.period
left join {{ ref('kpi_attainment') }} as attainment
    on attainment.kpi_id = kv.kpi_id
    and attainment.period_type = kv.period_type
    and attainment.period = kv.period
    and attainment.segment = kv.segment
left join {{ ref('kpi_values') }} as prior
    on prior.kpi_id = kv.kpi_id
    and prior.period_type = kv.period_type
    and prior.period = periods.prior_year_period
    and prior.segment = kv.segment
left join {{ ref('int_kpi_manual') }} as manual
    on manual.kpi_id = kv.kpi_id
    and manual.period_type = kv.period_type
    and manual.period = kv.period
    and manual.segment = kv.segment
