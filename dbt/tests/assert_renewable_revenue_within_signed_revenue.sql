-- renewable_revenue is a part of signed_revenue: never above it, in any period.
select r.period_type, r.period, r.value as renewable_revenue, s.value as signed_revenue
from {{ ref('kpi_values') }} as r
left join {{ ref('kpi_values') }} as s
    on s.kpi_id = 'signed_revenue' and s.segment = 'all'
    and s.period_type = r.period_type and s.period = r.period
where r.kpi_id = 'renewable_revenue' and r.segment = 'all'
  and (s.value is null or r.value > s.value + 0.005)
