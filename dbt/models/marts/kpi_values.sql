-- marts.kpi_values (docs/contract.md section 5): one row per KPI, period and segment, with its unit,
-- target (seed kpi_targets) and status (docs/metrics.md section 4). A value that cannot be computed
-- is absent, not zero.
with scored as (
    select
        v.kpi_id,
        v.period_type,
        v.period,
        v.segment,
        v.value,
        d.unit,
        t.target,
        t.direction,
        p.is_complete,
        -- in progress, sums are judged on their pace: value / elapsed share of the period
        case
            when not p.is_complete and d.prorate_in_progress and p.elapsed_share > 0
                then v.value / p.elapsed_share
            else v.value
        end as judged_value
    from {{ ref('int_kpi_values_long') }} as v
    inner join {{ ref('int_periods') }} as p
        on p.period_type = v.period_type and p.period = v.period
    inner join {{ ref('kpi_definitions') }} as d
        on d.kpi_id = v.kpi_id
    left join {{ ref('kpi_targets') }} as t
        on t.kpi_id = v.kpi_id
        and t.period_type = v.period_type
        and t.period = v.period
        and t.segment = v.segment
),

judged as (
    select
        *,
        case direction
            when 'lower' then judged_value <= target
            else judged_value >= target
        end as meets_target,
        case direction
            when 'lower' then judged_value <= target + abs(target) * {{ threshold('status_at_risk_band') }}
            else judged_value >= target - abs(target) * {{ threshold('status_at_risk_band') }}
        end as within_band
    from scored
)

select
    cast(kpi_id as varchar) as kpi_id,
    cast(period_type as varchar) as period_type,
    cast(period as varchar) as period,
    cast(segment as varchar) as segment,
    cast(value as double) as value,
    cast(unit as varchar) as unit,
    cast(target as double) as target,
    cast(
        case
            when target is null then null
            when is_complete then case when meets_target then 'met' else 'missed' end
            when meets_target then 'on_track'
            when within_band then 'at_risk'
            else 'off_track'
        end as varchar
    ) as status,
    cast(is_complete as boolean) as is_complete
from judged
