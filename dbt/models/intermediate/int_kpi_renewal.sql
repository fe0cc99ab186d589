-- renewal_rate in long form, with its segments channel (of the expiring contract), strategic
-- (the account was strategic in the year the expiring contract was signed) and region_group:
-- renewed / (due - pending) over the contracts due (end_date) in the period.
with due_periods as (
    select renewals.*, unnest({{ period_keys('renewals.end_date') }}) as p
    from {{ ref('int_renewals') }} as renewals
),

due_segments as (
    select
        due_periods.p.period_type as period_type,
        due_periods.p.period as period,
        due_periods.is_renewed,
        due_periods.is_pending,
        unnest({{ segment_list([('channel', 'channel'), ('strategic', 'is_strategic'), ('region_group', 'region_group')]) }})
            as segment
    from due_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = due_periods.p.period_type
        and periods.period = due_periods.p.period
    where periods.has_begun
)

select
    'renewal_rate' as kpi_id,
    period_type,
    period,
    segment,
    {{ safe_ratio('count(*) filter (where is_renewed)', 'count(*) - count(*) filter (where is_pending)') }} as value
from due_segments
group by period_type, period, segment
