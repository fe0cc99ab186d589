-- The input of the CRM completeness checks of accounts (Great Expectations, docs/data_quality.md):
-- each key field as filled (true) or empty (NULL), never its value.
{{ crm_key_field_flags('accounts', 'stg_crm__accounts', 'account_id', 'account') }}
