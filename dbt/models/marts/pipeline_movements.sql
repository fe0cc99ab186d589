-- marts.pipeline_movements (docs/metrics.md section 8): where each quarter's pipeline went, as a
-- waterfall from the quarter's earliest snapshot (S0, `opening`) to its latest on or before
-- --as-of (S1, `closing`): one row per quarter and movement (opening, created, pulled_in,
-- reopened, increased, decreased, won, lost, pushed_out, removed, closing) with the deals and the
-- CNY amount; a movement no deal made has no row. Opening + Σ movements = closing, to the cent
-- (tested on every quarter: assert_pipeline_movements_add_up).
with quarters as (
    select distinct quarter, opening_snapshot_date, closing_snapshot_date
    from {{ ref('int_pipeline_movements') }}
),

steps as (
    select quarter, 'opening' as movement, count(*) filter (where in_opening) as deal_count,
           coalesce(sum(opening_cny), 0) as amount_cny
    from {{ ref('int_pipeline_movements') }}
    group by quarter
    union all
    select quarter, movement, count(*), sum(movement_cny)
    from {{ ref('int_pipeline_movements') }}
    where movement is not null
    group by quarter, movement
    union all
    select quarter, 'closing', count(*) filter (where in_closing), coalesce(sum(closing_cny), 0)
    from {{ ref('int_pipeline_movements') }}
    group by quarter
)

select
    steps.quarter,
    list_position(['opening', 'created', 'pulled_in', 'reopened', 'increased', 'decreased', 'won', 'lost',
                   'pushed_out', 'removed', 'closing'], steps.movement) as step,
    steps.movement,
    cast(steps.deal_count as integer) as deal_count,
    cast(steps.amount_cny as decimal(18, 2)) as amount_cny,
    quarters.opening_snapshot_date,
    quarters.closing_snapshot_date,
    periods.is_complete
from steps
inner join quarters on quarters.quarter = steps.quarter
inner join {{ ref('int_periods') }} as periods
    on periods.period_type = 'quarter' and periods.period = steps.quarter
