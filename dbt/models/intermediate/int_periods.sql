-- The calendar of reporting periods (docs/metrics.md section 1): every year, quarter and month from
-- 2024 (or the first year of the contract or opportunity data, when earlier) to the year after
-- --as-of, with the dates every KPI needs to place itself in time. Periods not begun yet carry only
-- what is known in advance (renewal_base for the next four quarters and the next year,
-- pipeline_coverage of quarters to come).
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

data_years as (
    select min(first_year) as first_year
    from (
        select min(year(signed_date)) as first_year from {{ ref('stg_finance__contracts') }}
        union all
        select min(year(created_at)) from {{ ref('stg_crm__opportunities') }}
    ) as firsts
),

years as (
    select unnest(generate_series(least(2024, coalesce(data_years.first_year, 2024)), year(as_of.as_of_date) + 1)) as y
    from as_of, data_years
),

months as (
    select make_date(cast(y as integer), cast(m as integer), 1) as month_start
    from years, (select unnest(generate_series(1, 12)) as m) as month_numbers
),

periods as (
    select distinct
        'year' as period_type,
        strftime(month_start, '%Y') as period,
        make_date(year(month_start), 1, 1) as period_start,
        make_date(year(month_start), 12, 31) as period_end
    from months
    union all
    select distinct
        'quarter',
        strftime(month_start, '%Y') || '-Q' || quarter(month_start),
        cast(date_trunc('quarter', month_start) as date),
        last_day(cast(date_trunc('quarter', month_start) as date) + interval 2 month)
    from months
    union all
    select
        'month',
        strftime(month_start, '%Y-%m'),
        month_start,
        last_day(month_start)
    from months
)

select
    periods.period_type,
    periods.period,
    periods.period_start,
    periods.period_end,
    year(periods.period_start) as period_year,
    date_diff('day', periods.period_start, periods.period_end) + 1 as days_in_period,
    as_of.as_of_date,
    as_of.as_of_date >= periods.period_start as has_begun,
    as_of.as_of_date >= periods.period_end as is_complete,
    -- the day "at period end" measures use: the last day, or --as-of for the period still running
    case when as_of.as_of_date >= periods.period_start
        then least(periods.period_end, as_of.as_of_date) end as measure_date,
    greatest(0, least(1,
        cast(date_diff('day', periods.period_start, as_of.as_of_date) + 1 as double)
        / (date_diff('day', periods.period_start, periods.period_end) + 1)
    )) as elapsed_share,
    case periods.period_type
        when 'year' then cast(year(periods.period_start) - 1 as varchar)
        when 'quarter' then cast(year(periods.period_start) - 1 as varchar) || '-Q' || quarter(periods.period_start)
        else strftime(periods.period_start - interval 1 year, '%Y-%m')
    end as prior_year_period,
    cast(periods.period_start - interval 1 year as date) as prior_year_start,
    case when as_of.as_of_date >= periods.period_start
        then cast(least(periods.period_end, as_of.as_of_date) - interval 1 year as date) end as prior_year_measure_date
from periods
cross join as_of
