-- The battle map's scorecard: one row per KPI and period (segment `all`), with labels in Chinese
-- and English, value, target and status, how far the period has run, and last year's value.
select
    kv.kpi_id,
    definitions.sort_order,
    definitions.family,
    definitions.label_zh,
    definitions.label_en,
    kv.unit,
    kv.period_type,
    kv.period,
    periods.period_start,
    periods.period_end,
    kv.value,
    kv.target,
    kv.status,
    targets.milestone_date,
    kv.is_complete,
    periods.elapsed_share,
    case
        when not kv.is_complete and definitions.prorate_in_progress and periods.elapsed_share > 0
            then kv.value / periods.elapsed_share
    end as run_rate_value,
    prior.value as prior_year_value
from {{ ref('kpi_values') }} as kv
inner join {{ ref('kpi_definitions') }} as definitions
    on definitions.kpi_id = kv.kpi_id
inner join {{ ref('int_periods') }} as periods
    on periods.period_type = kv.period_type and periods.period = kv.period
left join {{ ref('kpi_targets') }} as targets
    on targets.kpi_id = kv.kpi_id
    and targets.period_type = kv.period_type
    and targets.period = kv.period
    and targets.segment = kv.segment
left join {{ ref('kpi_values') }} as prior
    on prior.kpi_id = kv.kpi_id
    and prior.period_type = kv.period_type
    and prior.period = periods.prior_year_period
    and prior.segment = 'all'
where kv.segment = 'all'
