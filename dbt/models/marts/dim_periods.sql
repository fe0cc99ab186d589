-- The reporting calendar: every year, quarter and month from 2024 (or the first year of the data)
-- to the year of --as-of, with whether it has begun and is complete at --as-of.
select
    period_type,
    period,
    period_start,
    period_end,
    period_year,
    days_in_period,
    as_of_date,
    has_begun,
    is_complete,
    measure_date,
    elapsed_share,
    prior_year_period
from {{ ref('int_periods') }}
