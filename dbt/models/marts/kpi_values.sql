-- marts.kpi_values (docs/contract.md section 5): one row per KPI, period and segment, with its unit,
-- target (seed kpi_targets) and status (docs/metrics.md section 4, decided in marts.kpi_attainment
-- against the plan to date of section 6). A value that cannot be computed is absent, not zero.
select
    cast(v.kpi_id as varchar) as kpi_id,
    cast(v.period_type as varchar) as period_type,
    cast(v.period as varchar) as period,
    cast(v.segment as varchar) as segment,
    cast(v.value as double) as value,
    cast(d.unit as varchar) as unit,
    cast(a.target as double) as target,
    cast(a.status as varchar) as status,
    cast(p.is_complete as boolean) as is_complete
from {{ ref('int_kpi_values_long') }} as v
inner join {{ ref('int_periods') }} as p
    on p.period_type = v.period_type and p.period = v.period
inner join {{ ref('kpi_definitions') }} as d
    on d.kpi_id = v.kpi_id
left join {{ ref('kpi_attainment') }} as a
    on a.kpi_id = v.kpi_id
    and a.period_type = v.period_type
    and a.period = v.period
    and a.segment = v.segment
