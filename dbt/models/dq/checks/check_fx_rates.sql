-- The input of the fx-rate check rate_close_to_previous_month (Great Expectations,
-- docs/data_quality.md): each monthly rate with the rate it is compared with, its change, and the
-- change it may make (seed fx_rate_tolerances: the currency's own row, else `default`).
--
-- A rate is compared with the latest earlier rate of its currency that passed the check itself, so
-- a single rate typed 100x too large is reported once: the month after it is compared with the
-- good month before it. The first rate of a currency has nothing to compare with. A rate that is
-- not positive is neither compared nor compared with: the structural test rate_to_cny > 0 of
-- stg_finance__fx_rates owns it.
with recursive rates as (
    select
        fx.month,
        fx.currency,
        cast(fx.rate_to_cny as double) as rate_to_cny,
        fx.source_file,
        fx.source_row,
        coalesce(own.max_monthly_change, fallback.max_monthly_change) as allowed_change,
        row_number() over (partition by fx.currency order by fx.month) as seq
    from {{ ref('stg_finance__fx_rates') }} as fx
    left join {{ ref('fx_rate_tolerances') }} as own
        on upper(trim(own.currency)) = fx.currency
    left join {{ ref('fx_rate_tolerances') }} as fallback
        on fallback.currency = 'default'
),

-- one row per rate, in month order per currency: the rate it is compared with (previous_*), and
-- the rate the next month is compared with (base_*: this one if it is positive and passed)
walk as (
    select
        rates.*,
        cast(null as varchar) as previous_month,
        cast(null as double) as previous_rate,
        case when rate_to_cny > 0 then month end as base_month,
        case when rate_to_cny > 0 then rate_to_cny end as base_rate
    from rates
    where seq = 1

    union all

    select
        rates.*,
        case when rates.rate_to_cny > 0 then walk.base_month end,
        case when rates.rate_to_cny > 0 then walk.base_rate end,
        case
            when rates.rate_to_cny > 0
                and (walk.base_rate is null or abs(rates.rate_to_cny / walk.base_rate - 1) <= rates.allowed_change)
                then rates.month
            else walk.base_month
        end,
        case
            when rates.rate_to_cny > 0
                and (walk.base_rate is null or abs(rates.rate_to_cny / walk.base_rate - 1) <= rates.allowed_change)
                then rates.rate_to_cny
            else walk.base_rate
        end
    from walk
    inner join rates on rates.currency = walk.currency and rates.seq = walk.seq + 1
)

select
    month,
    currency,
    rate_to_cny,
    previous_month,
    previous_rate,
    rate_to_cny / previous_rate - 1 as change,
    abs(rate_to_cny / previous_rate - 1) as abs_change,
    allowed_change,
    source_file,
    source_row,
    currency || ' ' || month || ' (' || {{ source_ref() }} || ')' as row_ref
from walk
