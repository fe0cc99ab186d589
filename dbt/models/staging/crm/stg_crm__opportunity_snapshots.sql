-- Weekly pipeline export: one row per live (snapshot_date, opportunity_id), amount in CNY at the
-- month of snapshot_date. A snapshot without currency takes the opportunity's current currency.
with merged as (
    select * from {{ ref('base_crm__opportunity_snapshots') }} where not coalesce(is_deleted, false)
),

cleaned as (
    select
        merged.snapshot_date,
        merged.opportunity_id,
        merged.stage,
        merged.amount,
        coalesce({{ upper_code('merged.currency') }}, opportunities.currency) as currency,
        merged.expected_close_date,
        merged.forecast_category,
        merged._source_file as source_file,
        merged._row_number as source_row
    from merged
    left join {{ ref('stg_crm__opportunities') }} as opportunities
        on opportunities.opportunity_id = merged.opportunity_id
),

converted as (
    {{ convert_to_cny('cleaned', 'amount', 'currency', 'snapshot_date') }}
)

select
    snapshot_date,
    opportunity_id,
    stage,
    amount,
    currency,
    fx_rate_to_cny,
    amount_cny,
    missing_fx_rate,
    expected_close_date,
    forecast_category,
    source_file,
    source_row
from converted
