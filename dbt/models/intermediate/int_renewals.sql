-- Renewals (docs/metrics.md renewal_rate): one row per contract that is due, i.e. it counts, has at
-- least one recurring line and an end_date; it is due in the period of its end_date. It is
-- renewed when a counting contract with renews_contract_id = its id was signed no later than
-- end_date + the grace of the seed (`renewal_grace_days`, 90). It is pending while not renewed
-- and --as-of is before end_date + grace; pending contracts are left out of the rate.
with renewals as (
    select
        renews_contract_id,
        min(signed_date) as first_renewal_signed_date,
        arg_min(contract_id, signed_date) as first_renewal_contract_id
    from {{ ref('int_contracts') }}
    where is_kpi_included and renews_contract_id is not null
      and signed_date <= {{ as_of_date() }}
    group by renews_contract_id
),

due as (
    select
        contracts.contract_id,
        contracts.account_id,
        contracts.signed_date,
        contracts.end_date,
        contracts.channel,
        contracts.region_group,
        coalesce(account_years.is_strategic, false) as is_strategic,
        cast(contracts.end_date + cast({{ threshold('renewal_grace_days') }} as integer) as date) as grace_end_date,
        renewals.first_renewal_contract_id,
        renewals.first_renewal_signed_date
    from {{ ref('int_contracts') }} as contracts
    left join renewals on renewals.renews_contract_id = contracts.contract_id
    left join {{ ref('int_account_years') }} as account_years
        on account_years.account_id = contracts.account_id
        and account_years.year = year(contracts.signed_date)
    where contracts.is_kpi_included
      and contracts.has_recurring_line
      and contracts.end_date is not null
)

select
    *,
    coalesce(first_renewal_signed_date <= grace_end_date, false) as is_renewed,
    not coalesce(first_renewal_signed_date <= grace_end_date, false)
        and {{ as_of_date() }} < grace_end_date as is_pending
from due
