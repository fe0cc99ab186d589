{#-
    Helpers of the data-quality check inputs (models/dq/checks): the models Great Expectations
    validates. docs/data_quality.md says which layer owns which rule.
-#}


{#- source_ref(): where a staging row came from, for a failing-row report: `<file>, row <n>`. -#}
{% macro source_ref(file_col='source_file', row_col='source_row') -%}
    {{ file_col }} || ', row ' || coalesce(cast({{ row_col }} as varchar), '?')
{%- endmacro %}


{#-
    crm_key_field_flags(table_name, model, key, noun): the input of the CRM completeness checks of
    one CRM table. One row per current record of `model`, with each key field of the seed
    `crm_key_fields` for `table_name` as a flag (true = filled, NULL = empty): the values
    themselves (a decision maker's name) never leave staging. A key field the staging model lacks
    is NULL (empty) here; intermediate.int_crm_completeness_cells' test fails the build then.
    The seed is read when the model is compiled (dbt builds seeds before models).
-#}
{% macro crm_key_field_flags(table_name, model, key, noun) -%}
    -- depends_on: {{ ref('crm_key_fields') }}
    {%- set fields = [] -%}
    {%- set have = [] -%}
    {%- if execute -%}
        {%- set rows = run_query("select column_name from " ~ ref('crm_key_fields')
                                 ~ " where table_name = '" ~ table_name ~ "' order by column_name") -%}
        {%- for r in rows -%}{%- do fields.append(r[0]) -%}{%- endfor -%}
        {%- for c in adapter.get_columns_in_relation(ref(model)) -%}{%- do have.append(c.name | lower) -%}{%- endfor -%}
    {%- endif %}
select
    {{ key }} as record_id,
    owner_id as record_owner,
    created_at,
    {%- for f in fields %}
    {% if f | lower in have -%}
    case when {{ adapter.quote(f) }} is not null then true end
    {%- else -%}
    cast(null as boolean)
    {%- endif %} as {{ adapter.quote(f) }},
    {%- endfor %}
    '{{ noun }} ' || {{ key }} || ' (owner ' || coalesce(owner_id, 'none') || '; ' || {{ source_ref() }} || ')'
        as row_ref
from {{ ref(model) }}
{%- endmacro %}
