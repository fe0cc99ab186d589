-- Contracts: one row per live contract_id (a deleted contract is gone; a cancelled one stays,
-- with is_counting = false).
with merged as (
    select * from {{ ref('base_finance__contracts') }} as merged
    where not coalesce(merged.is_deleted, false)
        -- a contract held back by a quarantined file is left out, with all that is booked to it
        and not exists (
            select 1 from {{ ref('stg_finance__held_back_contracts') }} as held
            where held.contract_id = merged.contract_id
        )
)

select
    contract_id,
    account_id,
    opportunity_id,
    owner_id,
    signed_date,
    start_date,
    end_date,
    {{ upper_code('currency') }} as currency,
    contract_type,
    renews_contract_id,
    channel,
    {{ normalize_placeholder('partner_id') }} as partner_id,
    (channel = 'partner' and {{ normalize_placeholder('partner_id') }} is null) as missing_partner_id,
    status,
    status <> 'cancelled' as is_counting,
    _source_file as source_file,
    _row_number as source_row
from merged
