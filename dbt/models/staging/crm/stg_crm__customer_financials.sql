-- Customers' published quarterly results: one row per live (account_id, fiscal_quarter),
-- net_profit in CNY at the last month of the fiscal quarter.
with merged as (
    select * from {{ ref('base_crm__customer_financials') }} where not coalesce(is_deleted, false)
),

cleaned as (
    select
        account_id,
        fiscal_quarter,
        cast(left(fiscal_quarter, 4) as integer) as fiscal_year,
        last_day(make_date(
            cast(left(fiscal_quarter, 4) as integer),
            cast(right(fiscal_quarter, 1) as integer) * 3,
            1
        )) as quarter_end_date,
        net_profit,
        {{ upper_code('currency') }} as currency,
        _source_file as source_file,
        _row_number as source_row
    from merged
),

converted as (
    {{ convert_to_cny('cleaned', 'net_profit', 'currency', 'quarter_end_date',
                      amount_cny='net_profit_cny') }}
)

select
    account_id,
    fiscal_quarter,
    fiscal_year,
    quarter_end_date,
    net_profit,
    currency,
    fx_rate_to_cny,
    net_profit_cny,
    missing_fx_rate,
    source_file,
    source_row
from converted
