-- CRM completeness cells (docs/metrics.md crm_completeness): one row per key-field cell of the current
-- (not deleted) accounts and opportunities, for the key fields listed in the seed
-- `crm_key_fields`. A cell is filled unless it is NULL; staging has already turned blanks and
-- placeholders into NULL (macro normalize_placeholder, seed crm_placeholders). Only the fact
-- "filled or not" leaves this model, never the value (decision_maker is personal data).
with records as (
    select
        'accounts' as table_name,
        account_id as record_id,
        owner_id,
        created_at,
        to_json(accounts) as record_json
    from {{ ref('stg_crm__accounts') }} as accounts
    union all
    select
        'opportunities',
        opportunity_id,
        owner_id,
        created_at,
        to_json(opportunities)
    from {{ ref('stg_crm__opportunities') }} as opportunities
)

select
    records.table_name,
    records.record_id,
    key_fields.column_name as field,
    records.owner_id,
    records.created_at,
    json_type(records.record_json, '$."' || key_fields.column_name || '"') is not null as field_exists,
    coalesce(json_type(records.record_json, '$."' || key_fields.column_name || '"') <> 'NULL', false) as is_filled
from records
inner join {{ ref('crm_key_fields') }} as key_fields
    on key_fields.table_name = records.table_name
