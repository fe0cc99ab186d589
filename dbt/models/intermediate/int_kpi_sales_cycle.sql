-- sales_cycle_days (mean) and sales_cycle_days_p50 (median) in long form: over counting
-- contracts of type new, days from first touch to the first positive payment; a contract
-- belongs to the period of that payment, and one with no payment yet is left out.
with cycle_periods as (
    select contracts.sales_cycle_days, unnest({{ period_keys('contracts.first_payment_date') }}) as p
    from {{ ref('int_contracts') }} as contracts
    where contracts.sales_cycle_days is not null
),

cycles as (
    select
        cycle_periods.p.period_type as period_type,
        cycle_periods.p.period as period,
        avg(cycle_periods.sales_cycle_days) as mean_days,
        median(cycle_periods.sales_cycle_days) as median_days
    from cycle_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = cycle_periods.p.period_type
        and periods.period = cycle_periods.p.period
    where periods.has_begun
    group by all
)

select 'sales_cycle_days' as kpi_id, period_type, period, 'all' as segment, cast(mean_days as double) as value
from cycles
union all
select 'sales_cycle_days_p50', period_type, period, 'all', cast(median_days as double)
from cycles
