-- Quotas by rep and period, and how much of each is due by --as-of (docs/metrics.md section 7):
-- one row per segment `owner=<rep_id>` and `all`, per year and quarter that has begun, for the
-- reps of the roster with a quota for it (a quota of an unknown rep is a reference problem and
-- is left out). A rep's quota for a year is its yearly row, else the sum of that year's quarterly
-- rows. Due share: a quarter's elapsed share; for a year, (sum over its quarterly quotas of quota x
-- the quarter's elapsed share) / the sum of its quarterly quotas (the quarters give the shape), or
-- the year's elapsed share when the rep has no quarterly rows. `all` pools the reps with a quota.
with periods as (
    select * from {{ ref('int_periods') }} where period_type in ('year', 'quarter')
),

quotas as (
    select * from {{ ref('stg_hr__quotas') }} where is_known_rep
),

quarterly as (
    select quotas.rep_id, quotas.quota_year, quotas.period, cast(quotas.quota_cny as double) as quota_cny,
           periods.elapsed_share
    from quotas
    inner join periods on periods.period_type = 'quarter' and periods.period = quotas.period
    where quotas.period_type = 'quarter'
),

quarter_shape as (
    select rep_id, quota_year, sum(quota_cny) as quarters_cny, sum(quota_cny * elapsed_share) as quarters_due_cny
    from quarterly
    group by rep_id, quota_year
),

yearly as (
    select rep_id, quota_year, cast(quota_cny as double) as quota_cny
    from quotas
    where period_type = 'year'
),

rep_years as (
    select rep_id, quota_year from yearly
    union
    select rep_id, quota_year from quarter_shape
),

rep_quotas as (
    select
        periods.period_type,
        periods.period,
        rep_years.rep_id,
        coalesce(yearly.quota_cny, quarter_shape.quarters_cny) as quota_cny,
        case when quarter_shape.quarters_cny > 0 then quarter_shape.quarters_due_cny / quarter_shape.quarters_cny
            else periods.elapsed_share end as due_share
    from rep_years
    inner join periods
        on periods.period_type = 'year' and periods.period = cast(rep_years.quota_year as varchar)
    left join yearly
        on yearly.rep_id = rep_years.rep_id and yearly.quota_year = rep_years.quota_year
    left join quarter_shape
        on quarter_shape.rep_id = rep_years.rep_id and quarter_shape.quota_year = rep_years.quota_year
    where periods.has_begun
    union all
    select periods.period_type, periods.period, quarterly.rep_id, quarterly.quota_cny, periods.elapsed_share
    from quarterly
    inner join periods on periods.period_type = 'quarter' and periods.period = quarterly.period
    where periods.has_begun
),

rep_revenue as (
    select owner_id as rep_id, p.period_type as period_type, p.period as period, sum(amount_cny) as signed_revenue_cny
    from (
        select owner_id, amount_cny, unnest({{ period_keys('signed_date') }}) as p
        from {{ ref('int_contract_lines_cny') }}
        where is_revenue_included
    ) as line_periods
    group by all
),

by_rep as (
    select
        rep_quotas.*,
        cast(coalesce(rep_revenue.signed_revenue_cny, 0) as double) as signed_revenue_cny
    from rep_quotas
    left join rep_revenue
        on rep_revenue.rep_id = rep_quotas.rep_id
        and rep_revenue.period_type = rep_quotas.period_type
        and rep_revenue.period = rep_quotas.period
)

select
    'owner=' || rep_id as segment,
    rep_id,
    period_type,
    period,
    quota_cny,
    quota_cny * due_share as quota_due_cny,
    due_share,
    signed_revenue_cny,
    1 as reps_with_quota
from by_rep
union all
select
    'all',
    null,
    period_type,
    period,
    sum(quota_cny),
    sum(quota_cny * due_share),
    sum(quota_cny * due_share) / sum(quota_cny),
    sum(signed_revenue_cny),
    count(*)
from by_rep
group by period_type, period
