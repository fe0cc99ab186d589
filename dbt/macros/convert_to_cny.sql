{#-
    THE currency conversion of docs/metrics.md section 1, used by every staging model with money.

    An amount in another currency is converted with stg_finance__fx_rates for the month of the
    row's own date (`on_date`); CNY needs no rate (1). When no rate exists for that month and
    currency (or the currency is unknown), `amount_cny` is NULL and `missing_fx_rate` is true, so
    the row can be excluded from money KPIs and counted, never silently turned into 0.

    `relation` is a CTE (or relation) holding the columns named by `amount`, `currency` and
    `on_date`; `currency` must already be upper case (see upper_code). Returns a SELECT of all of
    its columns plus:
        <rate_name>     the rate applied (1 for CNY), NULL when none
        <amount_cny>    amount * rate, DECIMAL(18,2), NULL when no rate or no amount
        <missing_name>  true when an amount is present but could not be converted

        converted as ({{ convert_to_cny('cleaned', 'amount', 'currency', 'received_date') }})
-#}
{% macro convert_to_cny(relation, amount, currency, on_date,
                        amount_cny='amount_cny', rate_name='fx_rate_to_cny',
                        missing_name='missing_fx_rate') -%}
    {%- set rate -%}
        case when src.{{ currency }} = 'CNY' then 1.0 else fx.rate_to_cny end
    {%- endset -%}
    select
        src.*,
        {{ rate }} as {{ rate_name }},
        cast(src.{{ amount }} * {{ rate }} as decimal(18, 2)) as {{ amount_cny }},
        (src.{{ amount }} is not null and ({{ rate }}) is null) as {{ missing_name }}
    from {{ relation }} as src
    left join {{ ref('stg_finance__fx_rates') }} as fx
        on fx.currency = src.{{ currency }}
        and fx.month = strftime(src.{{ on_date }}, '%Y-%m')
{%- endmacro %}
