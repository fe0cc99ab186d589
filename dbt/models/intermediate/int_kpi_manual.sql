-- The KPIs measured by hand (family `manual` in the seed kpi_definitions; docs/metrics.md, "Nodes
-- measured by hand"): the values the manager's team typed in, one row per KPI, period and segment,
-- with when and from where each was measured. Like any event, a value measured after --as-of is not
-- counted yet; a row the seed no longer has as a KPI measured by hand is a reference problem
-- (dq.reference_issues) and left out.
select
    measurements.kpi_id,
    measurements.period_type,
    measurements.period,
    measurements.segment,
    measurements.value,
    measurements.measured_at,
    measurements.source_note,
    measurements.source_file,
    measurements.source_row
from {{ ref('stg_manual__measurements') }} as measurements
inner join {{ ref('int_periods') }} as periods
    on periods.period_type = measurements.period_type and periods.period = measurements.period
where measurements.is_in_catalogue
  and periods.has_begun
  and measurements.measured_at <= periods.as_of_date
