-- crm_completeness in long form: the share of filled key-field cells over the current accounts
-- and opportunities created in the period, with segments table, field and owner.
with cell_periods as (
    select cells.*, unnest({{ period_keys('cells.created_at') }}) as p
    from {{ ref('int_crm_completeness_cells') }} as cells
    where cells.created_at <= {{ as_of_date() }}
),

cell_segments as (
    select
        cell_periods.p.period_type as period_type,
        cell_periods.p.period as period,
        cell_periods.is_filled,
        unnest({{ segment_list([('table', 'table_name'), ('field', 'field'), ('owner', 'owner_id')]) }}) as segment
    from cell_periods
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = cell_periods.p.period_type
        and periods.period = cell_periods.p.period
    where periods.has_begun
)

select
    'crm_completeness' as kpi_id,
    period_type,
    period,
    segment,
    avg(case when is_filled then 1.0 else 0.0 end) as value
from cell_segments
group by period_type, period, segment
