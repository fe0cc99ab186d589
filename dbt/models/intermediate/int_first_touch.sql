-- First touch of every opportunity and every contract (docs/metrics.md sales_cycle_days and
-- win_cycle_days): the linked opportunity's first_touch_at, else the account's earliest
-- activity, else the opportunity's created_at, else the account's created_at. For an
-- opportunity the account is its own account; for a contract, the opportunity is the one the
-- contract names (if any) and the account is the contract's account.
with first_activity as (
    select account_id, min(activity_date) as first_activity_date
    from {{ ref('stg_crm__activities') }}
    group by account_id
),

subjects as (
    select 'opportunity' as subject_type, opportunity_id as subject_id, opportunity_id, account_id
    from {{ ref('stg_crm__opportunities') }}
    union all
    select 'contract', contract_id, opportunity_id, account_id
    from {{ ref('stg_finance__contracts') }}
)

select
    subjects.subject_type,
    subjects.subject_id,
    subjects.opportunity_id,
    subjects.account_id,
    opportunities.first_touch_at as opportunity_first_touch_at,
    first_activity.first_activity_date as account_first_activity_date,
    opportunities.created_at as opportunity_created_at,
    accounts.created_at as account_created_at,
    coalesce(
        opportunities.first_touch_at,
        first_activity.first_activity_date,
        opportunities.created_at,
        accounts.created_at
    ) as first_touch_date,
    case
        when opportunities.first_touch_at is not null then 'opportunity_first_touch_at'
        when first_activity.first_activity_date is not null then 'account_first_activity'
        when opportunities.created_at is not null then 'opportunity_created_at'
        when accounts.created_at is not null then 'account_created_at'
    end as first_touch_source
from subjects
left join {{ ref('stg_crm__opportunities') }} as opportunities
    on opportunities.opportunity_id = subjects.opportunity_id
left join first_activity
    on first_activity.account_id = subjects.account_id
left join {{ ref('stg_crm__accounts') }} as accounts
    on accounts.account_id = subjects.account_id
