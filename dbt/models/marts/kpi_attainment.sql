-- marts.kpi_attainment (docs/metrics.md section 6): one row per KPI, period and segment that has a
-- target (seed kpi_targets) and a value, judged against its plan to date at --as-of; and for a KPI
-- measured by hand, one per target of a period begun by --as-of that has no value: status `no_data`
-- (missing data, not missed: nobody has typed the number in). This is where
-- the status of docs/metrics.md section 4 is decided (macro kpi_status); marts.kpi_values,
-- marts.kpi_scorecard and the report page read it from here.
-- Plan to date: a complete period, or a KPI that is not a sum: the target. A sum (prorate_in_progress
-- in the seed kpi_definitions) in progress: target x elapsed share, except a year whose four
-- quarters have targets for the same KPI and segment: target x (sum over those quarters of target x
-- elapsed share) / (sum of the four quarterly targets). quota_attainment: target x the share of the
-- quotas due by --as-of (int_rep_quotas).
with judged as (
    select
        targets.kpi_id,
        targets.period_type,
        targets.period,
        targets.segment,
        kpi_values.value,
        definitions.unit,
        targets.target,
        targets.direction,
        targets.milestone_date,
        periods.is_complete,
        periods.period_year,
        periods.elapsed_share,
        definitions.prorate_in_progress
    from {{ ref('kpi_targets') }} as targets
    left join {{ ref('int_kpi_values_long') }} as kpi_values
        on kpi_values.kpi_id = targets.kpi_id
        and kpi_values.period_type = targets.period_type
        and kpi_values.period = targets.period
        and kpi_values.segment = targets.segment
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = targets.period_type and periods.period = targets.period
    inner join {{ ref('kpi_definitions') }} as definitions
        on definitions.kpi_id = targets.kpi_id
    where kpi_values.value is not null
       or (definitions.family = 'manual' and periods.has_begun)
),

-- the plan's shape: the quarterly targets of a year, for the same KPI and segment
quarter_plan as (
    select
        targets.kpi_id,
        targets.segment,
        periods.period_year,
        count(*) as quarters,
        sum(targets.target) as quarters_target,
        sum(targets.target * periods.elapsed_share) as quarters_due
    from {{ ref('kpi_targets') }} as targets
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = 'quarter' and periods.period = targets.period
    where targets.period_type = 'quarter'
    group by targets.kpi_id, targets.segment, periods.period_year
),

paced as (
    select
        judged.*,
        judged.target * case
            when judged.is_complete then 1.0
            when judged.kpi_id = 'quota_attainment' then quotas.due_share
            when not judged.prorate_in_progress then 1.0
            when judged.period_type = 'year' and quarter_plan.quarters = 4
                then quarter_plan.quarters_due / nullif(quarter_plan.quarters_target, 0)
            else judged.elapsed_share
        end as plan_to_date
    from judged
    left join quarter_plan
        on judged.period_type = 'year'
        and quarter_plan.kpi_id = judged.kpi_id
        and quarter_plan.segment = judged.segment
        and quarter_plan.period_year = judged.period_year
    left join {{ ref('int_rep_quotas') }} as quotas
        on judged.kpi_id = 'quota_attainment'
        and quotas.segment = judged.segment
        and quotas.period_type = judged.period_type
        and quotas.period = judged.period
)

select
    cast(kpi_id as varchar) as kpi_id,
    cast(period_type as varchar) as period_type,
    cast(period as varchar) as period,
    cast(segment as varchar) as segment,
    cast(unit as varchar) as unit,
    cast(value as double) as value,
    cast(target as double) as target,
    cast(direction as varchar) as direction,
    cast(plan_to_date as double) as plan_to_date,
    case direction
        when 'lower' then {{ safe_ratio('plan_to_date', 'value') }}
        else {{ safe_ratio('value', 'plan_to_date') }}
    end as attainment,
    cast(case direction when 'lower' then value - plan_to_date else plan_to_date - value end as double) as gap_to_plan,
    case when prorate_in_progress and not is_complete and elapsed_share > 0
        then cast(value / elapsed_share as double) end as run_rate,
    cast(case when value is null then 'no_data'
        else {{ kpi_status('value', 'target', 'plan_to_date', 'direction', 'is_complete') }} end as varchar) as status,
    cast(is_complete as boolean) as is_complete,
    milestone_date
from paced
