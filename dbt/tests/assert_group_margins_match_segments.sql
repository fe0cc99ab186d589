-- overseas_gross_margin and domestic_gross_margin are the region_group rows of gross_margin, and
-- margin_gap_pp is their difference in percentage points.
with by_period as (
    select
        period_type, period,
        max(value) filter (where kpi_id = 'gross_margin' and segment = 'region_group=overseas') as gm_overseas,
        max(value) filter (where kpi_id = 'gross_margin' and segment = 'region_group=domestic') as gm_domestic,
        max(value) filter (where kpi_id = 'overseas_gross_margin') as overseas_gross_margin,
        max(value) filter (where kpi_id = 'domestic_gross_margin') as domestic_gross_margin,
        max(value) filter (where kpi_id = 'margin_gap_pp') as margin_gap_pp
    from {{ ref('kpi_values') }}
    group by period_type, period
)

select *
from by_period
where gm_overseas is distinct from overseas_gross_margin
   or gm_domestic is distinct from domestic_gross_margin
   or abs(coalesce(margin_gap_pp, 0) - coalesce((gm_domestic - gm_overseas) * 100, 0)) > 1e-9
