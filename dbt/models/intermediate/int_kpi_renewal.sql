-- Renewal KPIs in long form, over the contracts due (int_renewals) in the period of their end_date.
-- renewal_rate: renewed / (due - pending); segments channel (of the expiring contract), strategic
--   (the account was strategic in the year the expiring contract was signed), region_group.
-- net_revenue_retention (Σ R / Σ E), gross_revenue_retention (Σ min(R, E) / Σ E),
--   recurring_churn_rate (Σ E not renewed / Σ E), renewal_price_uplift (renewed contracts only:
--   Σ R / Σ E - 1): pending contracts and those whose E or R has no fx rate are left out; segments
--   region, region_group, channel, strategic (docs/metrics.md section 9).
-- renewal_base (Σ E of the contracts signed by --as-of, renewed or not, known in advance) and
--   renewal_base_open (the part not renewed and not lapsed): years and quarters, for the periods begun and the next four quarters and the
--   next year after --as-of; segments region_group, channel, strategic.
with periods as (
    select
        *,
        has_begun
            or (period_type = 'quarter'
                and period_start <= cast(date_trunc('quarter', as_of_date) + interval 12 month as date))
            or (period_type = 'year' and period_year = year(as_of_date) + 1) as is_in_base_horizon
    from {{ ref('int_periods') }}
),

due_periods as (
    select renewals.*, unnest({{ period_keys('renewals.end_date') }}) as p
    from {{ ref('int_renewals') }} as renewals
),

due_segments as (
    select
        due_periods.p.period_type as period_type,
        due_periods.p.period as period,
        periods.has_begun,
        periods.is_in_base_horizon,
        due_periods.is_renewed,
        due_periods.is_pending,
        due_periods.is_open,
        due_periods.signed_date <= periods.as_of_date as is_signed,
        due_periods.expiring_recurring_cny as e,
        due_periods.renewed_recurring_cny as r,
        unnest({{ segment_list([('channel', 'channel'), ('strategic', 'is_strategic'),
                                ('region_group', 'region_group'), ('region', 'region')]) }}) as segment
    from due_periods
    inner join periods
        on periods.period_type = due_periods.p.period_type
        and periods.period = due_periods.p.period
    where periods.is_in_base_horizon
),

rates as (
    select
        period_type,
        period,
        segment,
        {{ safe_ratio('count(*) filter (where is_renewed)', 'count(*) - count(*) filter (where is_pending)') }}
            as renewal_rate
    from due_segments
    where has_begun
      and segment not like 'region=%'
    group by period_type, period, segment
),

-- the money side: decided contracts (not pending) with E and R in CNY
retention as (
    select
        period_type,
        period,
        segment,
        {{ safe_ratio('sum(r)', 'sum(e)') }} as net_revenue_retention,
        {{ safe_ratio('sum(least(r, e))', 'sum(e)') }} as gross_revenue_retention,
        {{ safe_ratio('coalesce(sum(e) filter (where not is_renewed), 0)', 'sum(e)') }} as recurring_churn_rate,
        {{ safe_ratio('sum(r) filter (where is_renewed)', 'sum(e) filter (where is_renewed)') }} - 1
            as renewal_price_uplift
    from due_segments
    where has_begun
      and not is_pending
      and e is not null
      and r is not null
    group by period_type, period, segment
),

base as (
    select
        period_type,
        period,
        segment,
        cast(sum(e) as double) as renewal_base,
        cast(coalesce(sum(e) filter (where is_open), 0) as double) as renewal_base_open
    from due_segments
    where period_type in ('year', 'quarter')
      and segment not like 'region=%'
      and is_signed
      and e is not null
    group by period_type, period, segment
)

select 'renewal_rate' as kpi_id, period_type, period, segment, renewal_rate as value
from rates
union all
select kpi_id, period_type, period, segment, value
from retention
cross join lateral (
    values
        ('net_revenue_retention', retention.net_revenue_retention),
        ('gross_revenue_retention', retention.gross_revenue_retention),
        ('recurring_churn_rate', retention.recurring_churn_rate),
        ('renewal_price_uplift', retention.renewal_price_uplift)
) as kpis(kpi_id, value)
union all
select kpi_id, period_type, period, segment, value
from base
cross join lateral (
    values ('renewal_base', base.renewal_base), ('renewal_base_open', base.renewal_base_open)
) as kpis(kpi_id, value)
