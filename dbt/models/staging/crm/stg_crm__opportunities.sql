-- CRM opportunities: one row per live opportunity_id, amount converted to CNY at the month of
-- closed_at when the deal is closed, else of created_at.
with merged as (
    select * from {{ ref('base_crm__opportunities') }} where not coalesce(is_deleted, false)
),

cleaned as (
    select
        opportunity_id,
        -- CRM key fields (seed crm_key_fields): blanks and placeholders become NULL
        {{ normalize_placeholder('account_id') }} as account_id,
        owner_id,
        opportunity_name,
        created_at,
        first_touch_at,
        stage,
        stage in ('closed_won', 'closed_lost') as is_closed,
        stage = 'closed_won' as is_won,
        amount,
        {{ upper_code('currency') }} as currency,
        case
            when stage in ('closed_won', 'closed_lost') then coalesce(closed_at, created_at)
            else created_at
        end as fx_date,
        expected_close_date,
        closed_at,
        {{ normalize_placeholder('forecast_category') }} as forecast_category,
        channel,
        {{ normalize_placeholder('partner_id') }} as partner_id,
        product_family,
        {{ normalize_placeholder('pain_points') }} as pain_points,
        {{ normalize_placeholder('main_competitor') }} as main_competitor,
        {{ normalize_placeholder('next_step') }} as next_step,
        budget_confirmed,
        lost_reason,
        _source_file as source_file,
        _row_number as source_row
    from merged
),

converted as (
    {{ convert_to_cny('cleaned', 'amount', 'currency', 'fx_date') }}
)

select
    opportunity_id,
    account_id,
    owner_id,
    opportunity_name,
    created_at,
    first_touch_at,
    stage,
    is_closed,
    is_won,
    amount,
    currency,
    fx_date,
    fx_rate_to_cny,
    amount_cny,
    missing_fx_rate,
    expected_close_date,
    closed_at,
    forecast_category,
    channel,
    partner_id,
    (channel = 'partner' and partner_id is null) as missing_partner_id,
    product_family,
    pain_points,
    main_competitor,
    next_step,
    budget_confirmed,
    lost_reason,
    source_file,
    source_row
from converted
