-- Rolling revenue forecast: one row per live (submitted_at, period, scope).
with merged as (
    {{ latest_per_key(source('raw', 'forecasts'), ['submitted_at', 'period', 'scope']) }}
)

select
    submitted_at,
    period,
    case when period like '%-Q%' then 'quarter' else 'month' end as period_type,
    case
        when period like '%-Q%'
            then make_date(
                cast(left(period, 4) as integer),
                cast(right(period, 1) as integer) * 3 - 2,
                1
            )
        else cast(period || '-01' as date)
    end as period_start,
    scope,
    scope = 'company' as is_company,
    forecast_amount_cny,
    _source_file as source_file,
    _row_number as source_row
from merged
