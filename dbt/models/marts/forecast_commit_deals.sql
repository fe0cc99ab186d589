-- marts.forecast_commit_deals (docs/metrics.md forecast_accuracy and section 8): each month's
-- forecast set deal by deal - the commits of the month's earliest snapshot expected to close in
-- that month - with the owner, the amount committed at the snapshot and what became of it:
-- `hit` (won in the month), `won_later` (won in a later month: the commit slipped), `lost`, `open`
-- (still open at --as-of), `deleted` (no longer in the CRM). Whose commits slip, without
-- reading intermediate.
select
    sets.month,
    sets.snapshot_date,
    sets.opportunity_id,
    sets.owner_id,
    sets.account_id,
    sets.expected_close_date,
    sets.commit_amount_cny,
    sets.missing_fx_rate,
    sets.current_stage,
    sets.current_closed_at,
    sets.is_hit,
    case
        when sets.is_hit then 'hit'
        when sets.current_stage = 'closed_won' and sets.current_closed_at > last_day(cast(sets.month || '-01' as date))
            then 'won_later'
        when sets.current_stage = 'closed_won' then 'won_earlier'
        when sets.current_stage = 'closed_lost' then 'lost'
        when sets.current_stage is null then 'deleted'
        else 'open'
    end as outcome
from {{ ref('int_forecast_sets') }} as sets
