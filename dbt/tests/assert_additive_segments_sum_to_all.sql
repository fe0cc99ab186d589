-- For additive KPIs, the segment rows of every dimension add up to the `all` row (a value that
-- is not known is its own segment, `dimension=unknown`, so nothing falls out of a breakdown).
with segments as (
    select
        kpi_id, period_type, period,
        split_part(segment, '=', 1) as dimension,
        sum(value) as segment_total
    from {{ ref('kpi_values') }}
    where kpi_id in ('signed_revenue', 'gross_profit')
      and segment <> 'all'
    group by all
)

select segments.*, totals.value as all_value
from segments
left join {{ ref('kpi_values') }} as totals
    on totals.kpi_id = segments.kpi_id and totals.segment = 'all'
    and totals.period_type = segments.period_type and totals.period = segments.period
where totals.value is null
   or abs(segments.segment_total - totals.value) > 0.01
