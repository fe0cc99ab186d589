-- Performance reviews: one row per live (rep_id, period); period is a year ('2025') or a half
-- year ('2025-H2').
with merged as (
    {{ latest_per_key(source('raw', 'rep_reviews'), ['rep_id', 'period']) }}
)

select
    rep_id,
    period,
    case when period like '%-H%' then 'half_year' else 'year' end as period_type,
    cast(left(period, 4) as integer) as review_year,
    grade,
    grade in ('A+', 'A') as is_high_performer,
    _source_file as source_file,
    _row_number as source_row
from merged
