-- The KPI catalogue for analysts (seed kpi_definitions): one row per KPI with its unit, labels,
-- the periods and segments it is given for, and its targets as a list.
select
    definitions.kpi_id,
    definitions.sort_order,
    definitions.family,
    definitions.unit,
    definitions.label_zh,
    definitions.label_en,
    string_split(definitions.period_types, '|') as period_types,
    case when definitions.segment_dimensions is null or definitions.segment_dimensions = '' then []
        else string_split(definitions.segment_dimensions, '|') end as segment_dimensions,
    definitions.prorate_in_progress,
    definitions.is_share,
    (
        select list(
            {'period_type': t.period_type, 'period': t.period, 'segment': t.segment, 'target': t.target,
             'direction': t.direction, 'milestone_date': t.milestone_date}
            order by t.period_type desc, t.period, t.segment)
        from {{ ref('kpi_targets') }} as t
        where t.kpi_id = definitions.kpi_id
    ) as targets
from {{ ref('kpi_definitions') }} as definitions
