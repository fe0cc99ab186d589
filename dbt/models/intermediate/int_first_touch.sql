-- First touch of every opportunity and every contract (docs/metrics.md first touch rule).
-- An opportunity (win_cycle_days): its own first_touch_at, else its earliest activity (linked by
-- opportunity_id), else its created_at; never the account's history (a renewal or expansion deal
-- on an old account would count years of it). A contract (sales_cycle_days): the opportunity it
-- names' first_touch_at, else the account's earliest activity, else that opportunity's created_at,
-- else the account's created_at.
with account_activity as (
    select account_id, min(activity_date) as first_activity_date
    from {{ ref('stg_crm__activities') }}
    group by account_id
),

opportunity_activity as (
    select opportunity_id, min(activity_date) as first_activity_date
    from {{ ref('stg_crm__activities') }}
    where opportunity_id is not null
    group by opportunity_id
),

subjects as (
    select 'opportunity' as subject_type, opportunity_id as subject_id, opportunity_id, account_id
    from {{ ref('stg_crm__opportunities') }}
    union all
    select 'contract', contract_id, opportunity_id, account_id
    from {{ ref('stg_finance__contracts') }}
),

chains as (
    select
        subjects.subject_type,
        subjects.subject_id,
        subjects.opportunity_id,
        subjects.account_id,
        opportunities.first_touch_at as opportunity_first_touch_at,
        opportunity_activity.first_activity_date as opportunity_first_activity_date,
        account_activity.first_activity_date as account_first_activity_date,
        opportunities.created_at as opportunity_created_at,
        accounts.created_at as account_created_at
    from subjects
    left join {{ ref('stg_crm__opportunities') }} as opportunities
        on opportunities.opportunity_id = subjects.opportunity_id
    left join opportunity_activity
        on opportunity_activity.opportunity_id = subjects.opportunity_id
    left join account_activity
        on account_activity.account_id = subjects.account_id
    left join {{ ref('stg_crm__accounts') }} as accounts
        on accounts.account_id = subjects.account_id
)

select
    *,
    case subject_type
        when 'opportunity' then coalesce(opportunity_first_touch_at, opportunity_first_activity_date, opportunity_created_at)
        else coalesce(opportunity_first_touch_at, account_first_activity_date, opportunity_created_at, account_created_at)
    end as first_touch_date,
    case
        when opportunity_first_touch_at is not null then 'opportunity_first_touch_at'
        when subject_type = 'opportunity' and opportunity_first_activity_date is not null then 'opportunity_first_activity'
        when subject_type = 'contract' and account_first_activity_date is not null then 'account_first_activity'
        when opportunity_created_at is not null then 'opportunity_created_at'
        when subject_type = 'contract' and account_created_at is not null then 'account_created_at'
    end as first_touch_source
from chains
