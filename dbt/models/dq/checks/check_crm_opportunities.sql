-- The input of the CRM completeness checks of opportunities (Great Expectations,
-- docs/data_quality.md): each key field as filled (true) or empty (NULL), never its value.
{{ crm_key_field_flags('opportunities', 'stg_crm__opportunities', 'opportunity_id', 'opportunity') }}
