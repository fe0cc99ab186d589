-- signed_revenue of a year equals the sum of its quarters and of its months (segment all).
with by_year as (
    select
        left(period, 4) as year,
        sum(value) filter (where period_type = 'year') as year_value,
        sum(value) filter (where period_type = 'quarter') as quarters_value,
        sum(value) filter (where period_type = 'month') as months_value
    from {{ ref('kpi_values') }}
    where kpi_id = 'signed_revenue' and segment = 'all'
    group by left(period, 4)
)

select *
from by_year
where abs(year_value - quarters_value) > 0.01
   or abs(year_value - months_value) > 0.01
