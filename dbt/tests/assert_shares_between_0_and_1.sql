{{ config(meta={'dagster': {'ref': {'name': 'kpi_values'}}}) }}  {#- a Dagster asset check of marts.kpi_values -#}
-- KPIs that are a part of a whole (is_share in the seed kpi_definitions) lie between 0 and 1.
select kv.*
from {{ ref('kpi_values') }} as kv
inner join {{ ref('kpi_definitions') }} as d on d.kpi_id = kv.kpi_id
where d.is_share
  and (kv.value < 0 or kv.value > 1)
