{{ config(meta={'dagster': {'ref': {'name': 'kpi_values'}}}) }}  {#- a Dagster asset check of marts.kpi_values -#}
-- Every row of kpi_values has a period type and a segment dimension its KPI is defined for
-- (seed kpi_definitions), the KPI's unit, and a status exactly when it has a target.
select kv.*, d.period_types, d.segment_dimensions
from {{ ref('kpi_values') }} as kv
inner join {{ ref('kpi_definitions') }} as d on d.kpi_id = kv.kpi_id
where not list_contains(string_split(d.period_types, '|'), kv.period_type)
   or (kv.segment <> 'all'
       and not list_contains(string_split(coalesce(d.segment_dimensions, ''), '|'), split_part(kv.segment, '=', 1)))
   or kv.unit <> d.unit
   or ((kv.target is null) <> (kv.status is null))
   or (kv.is_complete and kv.status in ('on_track', 'at_risk', 'off_track'))
   or (not kv.is_complete and kv.status in ('met', 'missed'))
