-- Sales quotas (docs/metrics.md section 7): one row per live (rep_id, period); period is a year
-- ('2026') or a quarter ('2026-Q1'). `is_known_rep` is false for a rep_id missing from the roster
-- (a reference problem: the row loads, is listed in dq.reference_issues and is left out of the
-- quota KPIs).
with merged as (
    {{ latest_per_key(source('raw', 'quotas'), ['rep_id', 'period']) }}
)

select
    merged.rep_id,
    merged.period,
    case when merged.period like '%-Q%' then 'quarter' else 'year' end as period_type,
    cast(left(merged.period, 4) as integer) as quota_year,
    merged.quota_cny,
    reps.rep_id is not null as is_known_rep,
    merged._source_file as source_file,
    merged._row_number as source_row
from merged
left join {{ ref('stg_hr__reps') }} as reps
    on reps.rep_id = merged.rep_id
