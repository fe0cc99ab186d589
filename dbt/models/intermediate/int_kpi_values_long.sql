-- Every KPI value of every family in one long table: one row per kpi_id, period and segment
-- with a value. Values that cannot be computed are absent (no row), never 0.
{% set families = ['int_kpi_revenue', 'int_kpi_margin', 'int_kpi_renewal', 'int_kpi_productivity',
                   'int_kpi_sales_cycle', 'int_kpi_forecast', 'int_kpi_pipeline', 'int_kpi_crm',
                   'int_kpi_people', 'int_kpi_partners', 'int_kpi_reps',
                   'int_kpi_manual'] %}
select kpi_id, period_type, period, segment, cast(value as double) as value
from (
    {% for family in families %}
    select kpi_id, period_type, period, segment, value from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
) as all_families
where value is not null
  and isfinite(cast(value as double))
