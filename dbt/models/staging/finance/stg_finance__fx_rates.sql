-- Monthly FX rates: one row per live (month, currency); 1 unit of currency = rate_to_cny CNY.
-- The key is compared as staging writes it (currency upper case), so a later 'usd' row replaces
-- an earlier 'USD' row of the same month.
with merged as (
    {{ latest_per_key(source('raw', 'fx_rates'), [trim_text('month'), upper_code('currency')]) }}
)

select
    {{ trim_text('month') }} as month,
    cast({{ trim_text('month') }} || '-01' as date) as month_start,
    {{ upper_code('currency') }} as currency,
    rate_to_cny,
    _source_file as source_file,
    _row_number as source_row
from merged
