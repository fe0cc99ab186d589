-- marts.rep_scorecard (docs/metrics.md section 7): one row per rep of the roster and year or quarter
-- in which the rep was employed, begun by --as-of. Reps by id and team only (no names). Quota
-- attainment is judged like every KPI (macro kpi_status): a rep's target is the quota (attainment
-- 1.0) and its plan to date the share of the quota due by --as-of (int_rep_quotas).
with periods as (
    select * from {{ ref('int_periods') }} where has_begun and period_type in ('year', 'quarter')
),

rep_periods as (
    select reps.rep_id, reps.team, periods.period_type, periods.period, periods.period_start, periods.period_end,
           periods.is_complete
    from {{ ref('stg_hr__reps') }} as reps
    inner join periods
        on reps.hire_date <= periods.measure_date
        and (reps.leave_date is null or reps.leave_date > periods.period_start)
),

kpis as (
    select
        replace(segment, 'owner=', '') as rep_id,
        period_type,
        period,
        max(value) filter (where kpi_id = 'signed_revenue') as signed_revenue_cny,
        max(value) filter (where kpi_id = 'win_rate') as win_rate,
        max(value) filter (where kpi_id = 'avg_won_deal_size') as avg_won_deal_size_cny,
        max(value) filter (where kpi_id = 'customer_visits_per_day') as customer_visits_per_day
    from {{ ref('int_kpi_values_long') }}
    where segment like 'owner=%'
      and kpi_id in ('signed_revenue', 'win_rate', 'avg_won_deal_size', 'customer_visits_per_day')
      and period_type in ('year', 'quarter')
    group by all
),

deals as (
    select owner_id as rep_id, p.period_type as period_type, p.period as period, count(*) as deals_won
    from (
        select owner_id, unnest({{ period_keys('closed_at') }}) as p
        from {{ ref('int_opportunities') }}
        where is_kpi_included and counts_as_won and closed_at <= {{ as_of_date() }}
    ) as won
    group by all
),

open_pipeline as (
    select rep_periods.rep_id, rep_periods.period_type, rep_periods.period, sum(opportunities.amount_cny) as open_pipeline_cny
    from rep_periods
    inner join {{ ref('int_opportunities') }} as opportunities
        on opportunities.owner_id = rep_periods.rep_id
        and opportunities.expected_close_date between rep_periods.period_start and rep_periods.period_end
    where opportunities.is_kpi_included and not opportunities.is_closed and opportunities.amount_cny is not null
    group by all
),

crm as (
    select owner_id as rep_id, cast(sum(key_fields - empty_fields) as double) / sum(key_fields) as crm_completeness
    from {{ ref('crm_record_completeness') }}
    where owner_id is not null
    group by owner_id
),

reviews as (
    select
        rep_id,
        period,
        grade,
        case when period_type = 'year' then make_date(review_year, 12, 31)
            when period like '%-H1' then make_date(review_year, 6, 30)
            else make_date(review_year, 12, 31) end as review_end,
        period_type = 'year' as is_year_review
    from {{ ref('stg_hr__rep_reviews') }}
),

latest_reviews as (
    select rep_periods.rep_id, rep_periods.period_type, rep_periods.period,
           arg_max(reviews.period, (reviews.review_end, reviews.is_year_review)) as latest_review_period,
           arg_max(reviews.grade, (reviews.review_end, reviews.is_year_review)) as latest_review_grade
    from rep_periods
    inner join reviews
        on reviews.rep_id = rep_periods.rep_id and reviews.review_end <= rep_periods.period_end
    group by all
),

scored as (
    select
        rep_periods.rep_id,
        rep_periods.team,
        rep_periods.period_type,
        rep_periods.period,
        rep_periods.is_complete,
        coalesce(kpis.signed_revenue_cny, 0) as signed_revenue_cny,
        quotas.quota_cny,
        {{ safe_ratio('quotas.signed_revenue_cny', 'quotas.quota_cny') }} as quota_attainment,
        quotas.due_share as plan_to_date,
        coalesce(deals.deals_won, 0) as deals_won,
        kpis.win_rate,
        kpis.avg_won_deal_size_cny,
        coalesce(open_pipeline.open_pipeline_cny, 0) as open_pipeline_cny,
        kpis.customer_visits_per_day,
        crm.crm_completeness,
        latest_reviews.latest_review_period,
        latest_reviews.latest_review_grade
    from rep_periods
    left join kpis using (rep_id, period_type, period)
    left join {{ ref('int_rep_quotas') }} as quotas
        on quotas.segment = 'owner=' || rep_periods.rep_id
        and quotas.period_type = rep_periods.period_type
        and quotas.period = rep_periods.period
    left join deals using (rep_id, period_type, period)
    left join open_pipeline using (rep_id, period_type, period)
    left join crm using (rep_id)
    left join latest_reviews using (rep_id, period_type, period)
),

judged as (
    select
        *,
        {{ safe_ratio('quota_attainment', 'plan_to_date') }} as attainment,
        {{ kpi_status('quota_attainment', '1.0', 'plan_to_date', "'higher'", 'is_complete') }} as status
    from scored
)

select
    cast(rep_id as varchar) as rep_id,
    cast(team as varchar) as team,
    cast(period_type as varchar) as period_type,
    cast(period as varchar) as period,
    cast(is_complete as boolean) as is_complete,
    cast(signed_revenue_cny as double) as signed_revenue_cny,
    cast(quota_cny as double) as quota_cny,
    cast(quota_attainment as double) as quota_attainment,
    cast(plan_to_date as double) as plan_to_date,
    cast(attainment as double) as attainment,
    cast(status as varchar) as status,
    case when attainment is not null
        then rank() over (partition by team, period_type, period order by attainment is null, attainment desc) end
        as rank_in_team,
    cast(deals_won as integer) as deals_won,
    cast(win_rate as double) as win_rate,
    cast(avg_won_deal_size_cny as double) as avg_won_deal_size_cny,
    cast(open_pipeline_cny as double) as open_pipeline_cny,
    cast(customer_visits_per_day as double) as customer_visits_per_day,
    cast(crm_completeness as double) as crm_completeness,
    cast(latest_review_period as varchar) as latest_review_period,
    cast(latest_review_grade as varchar) as latest_review_grade
from judged
