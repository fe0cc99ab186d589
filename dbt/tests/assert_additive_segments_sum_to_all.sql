-- For additive KPIs, the segment rows of every dimension add up to the `all` row (a value that
-- is not known is its own segment, `dimension=unknown`, so nothing falls out of a breakdown). The
-- partner segments of signed_revenue cover the partner channel: they add up to `channel=partner`.
with segments as (
    select
        kpi_id, period_type, period,
        split_part(segment, '=', 1) as dimension,
        sum(value) as segment_total
    from {{ ref('kpi_values') }}
    where kpi_id in ('signed_revenue', 'gross_profit', 'pipeline_open_amount', 'pipeline_created_amount',
                     'renewal_base', 'renewal_base_open', 'active_partner_count')
      and segment <> 'all'
    group by all
)

select segments.*, totals.value as total_value
from segments
left join {{ ref('kpi_values') }} as totals
    on totals.kpi_id = segments.kpi_id
    and totals.segment = case when segments.dimension = 'partner' then 'channel=partner' else 'all' end
    and totals.period_type = segments.period_type and totals.period = segments.period
where totals.value is null
   or abs(segments.segment_total - totals.value) > 0.01
