-- Partner KPIs in long form, at period end (its last day, or --as-of while it runs), with the
-- partners' attributes as of that day (int_active_partners):
-- partner_certified_share (active partners certified on or before that day / active partners),
-- partner_health_avg (mean health_score of the active partners) and active_partner_count (active
-- partners, segments region_group of the partner's region and tier). Absent without an active
-- partner. gold_partner_revenue is a revenue KPI (int_kpi_revenue).
with at_end as (
    select periods.period_type, periods.period, month_ends.*
    from {{ ref('int_periods') }} as periods
    inner join {{ ref('int_partner_month_ends') }} as month_ends
        on month_ends.measure_date = periods.measure_date
    where periods.has_begun
      and month_ends.active_partners > 0
),

active_segments as (
    select periods.period_type, periods.period,
           unnest({{ segment_list([('region_group', 'active.region_group'), ('tier', 'active.tier')]) }}) as segment
    from {{ ref('int_periods') }} as periods
    inner join {{ ref('int_active_partners') }} as active
        on active.measure_date = periods.measure_date
    where periods.has_begun
)

select kpi_id, period_type, period, 'all' as segment, value
from at_end
cross join lateral (
    values
        ('partner_certified_share', {{ safe_ratio('at_end.certified_partners', 'at_end.active_partners') }}),
        ('partner_health_avg', cast(at_end.health_score_avg as double))
) as kpis(kpi_id, value)
union all
select 'active_partner_count', period_type, period, segment, cast(count(*) as double)
from active_segments
group by period_type, period, segment
