-- Renewals (docs/metrics.md renewal_rate and section 9): one row per contract that is due, i.e. it
-- counts, has at least one recurring line and an end_date; it is due in the period of its
-- end_date. It is renewed when a counting contract with renews_contract_id = its id was signed no
-- later than end_date + the grace of the seed (`renewal_grace_days`, 90), and renewed late when the
-- first such contract came after the grace. It is pending while not renewed and --as-of is before
-- end_date + grace; pending contracts are left out of the rates.
-- Money (section 9): E, the expiring recurring amount, is the CNY amount of its recurring lines (at
-- its signed month's rate); R, the renewed amount, the CNY recurring amount of the counting
-- contracts that renew it within the grace (each at its own signed month's rate), 0 when not
-- renewed. A side whose lines have no fx rate leaves E (or R) NULL: out of the money KPIs.
with renewing as (
    select contract_id, renews_contract_id, signed_date, recurring_revenue_cny, missing_fx_rate
    from {{ ref('int_contracts') }}
    where is_kpi_included and renews_contract_id is not null
      and signed_date <= {{ as_of_date() }}
),

due as (
    select
        contracts.contract_id,
        contracts.account_id,
        contracts.signed_date,
        contracts.end_date,
        contracts.channel,
        contracts.region,
        contracts.region_group,
        coalesce(account_years.is_strategic, false) as is_strategic,
        cast(contracts.end_date + cast({{ threshold('renewal_grace_days') }} as integer) as date) as grace_end_date,
        case when not contracts.missing_fx_rate then contracts.recurring_revenue_cny end as expiring_recurring_cny
    from {{ ref('int_contracts') }} as contracts
    left join {{ ref('int_account_years') }} as account_years
        on account_years.account_id = contracts.account_id
        and account_years.year = year(contracts.signed_date)
    where contracts.is_kpi_included
      and contracts.has_recurring_line
      and contracts.end_date is not null
),

renewed as (
    select
        due.contract_id,
        min(renewing.signed_date) as first_renewal_signed_date,
        arg_min(renewing.contract_id, renewing.signed_date) as first_renewal_contract_id,
        sum(renewing.recurring_revenue_cny) filter (where renewing.signed_date <= due.grace_end_date)
            as renewed_recurring_cny,
        coalesce(bool_or(renewing.missing_fx_rate) filter (where renewing.signed_date <= due.grace_end_date), false)
            as renewal_missing_fx_rate
    from due
    inner join renewing on renewing.renews_contract_id = due.contract_id
    group by due.contract_id
),

judged as (
    select
        due.*,
        renewed.first_renewal_contract_id,
        renewed.first_renewal_signed_date,
        coalesce(renewed.first_renewal_signed_date <= due.grace_end_date, false) as is_renewed,
        coalesce(renewed.first_renewal_signed_date > due.grace_end_date, false) as is_renewed_late,
        case when renewed.first_renewal_signed_date > due.grace_end_date
            then date_diff('day', due.grace_end_date, renewed.first_renewal_signed_date) end as days_late,
        case when coalesce(renewed.renewal_missing_fx_rate, false) then null
            else coalesce(renewed.renewed_recurring_cny, 0) end as renewed_recurring_cny
    from due
    left join renewed on renewed.contract_id = due.contract_id
)

select
    *,
    not is_renewed and {{ as_of_date() }} < grace_end_date as is_pending,
    -- renewal_base_open: not renewed yet and not lapsed (end_date + grace on or after --as-of)
    not is_renewed and grace_end_date >= {{ as_of_date() }} as is_open
from judged
