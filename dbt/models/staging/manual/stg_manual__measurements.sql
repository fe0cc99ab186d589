-- KPIs measured by hand (docs/metrics.md, "Nodes measured by hand"): one row per live (kpi_id, period,
-- segment), the row of the latest file (a later file corrects an earlier one; is_deleted removes it).
-- Ingestion checked each row against the seed kpi_definitions of its day; `is_in_catalogue` is false
-- when the seed no longer has the KPI measured by hand for that period type and segment (the seed was
-- edited since): such a row is listed in dq.reference_issues and left out of the KPIs.
with merged as (
    {{ latest_per_key(source('raw', 'manual_measurements'), ['kpi_id', 'period', 'segment']) }}
),

measurements as (
    select
        *,
        case
            when period like '%-Q%' then 'quarter'
            when length(period) = 4 then 'year'
            else 'month'
        end as period_type
    from merged
)

select
    measurements.kpi_id,
    measurements.period_type,
    measurements.period,
    measurements.segment,
    measurements.value,
    measurements.measured_at,
    measurements.source_note,
    definitions.kpi_id is not null as is_in_catalogue,
    measurements._source_file as source_file,
    measurements._row_number as source_row
from measurements
left join {{ ref('kpi_definitions') }} as definitions
    on definitions.kpi_id = measurements.kpi_id
    and definitions.family = 'manual'
    and list_contains(string_split(definitions.period_types, '|'), measurements.period_type)
    and (measurements.segment = 'all'
         or list_contains(string_split(coalesce(definitions.segment_dimensions, ''), '|'),
                          split_part(measurements.segment, '=', 1)))
