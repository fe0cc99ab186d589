-- Customers, without personal data (decision_maker, contact_email, contact_phone stay in staging).
select
    accounts.account_id,
    accounts.account_name,
    accounts.region,
    accounts.region_group,
    accounts.country,
    accounts.industry,
    accounts.owner_id,
    accounts.created_at,
    accounts.pain_points,
    accounts.procurement_cycle,
    accounts.main_competitor,
    accounts.decision_maker is not null as has_decision_maker,
    first_touch.first_activity_date,
    coalesce(revenue.lifetime_revenue_cny, 0) as lifetime_signed_revenue_cny,
    revenue.first_signed_year,
    coalesce(revenue.strategic_years, []) as strategic_years,
    coalesce(list_contains(revenue.strategic_years, year({{ as_of_date() }})), false) as is_strategic_this_year
from {{ ref('stg_crm__accounts') }} as accounts
left join (
    select account_id, min(activity_date) as first_activity_date
    from {{ ref('stg_crm__activities') }}
    group by account_id
) as first_touch on first_touch.account_id = accounts.account_id
left join (
    select
        account_id,
        sum(signed_revenue_cny) as lifetime_revenue_cny,
        min(year) as first_signed_year,
        list(year order by year) filter (where is_strategic) as strategic_years
    from {{ ref('int_account_years') }}
    group by account_id
) as revenue on revenue.account_id = accounts.account_id
