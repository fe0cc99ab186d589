{{ config(meta={'dagster': {'ref': {'name': 'kpi_values'}}}) }}  {#- a Dagster asset check of marts.kpi_values -#}
-- No table of schema marts has a personal-data column: a column marked meta.personal_data in the
-- staging or source YAML (decision_maker, contact_email, contact_phone, rep_name), in any case.
-- This is the one home of the rule (docs/data_quality.md): mark a new personal column there.
{%- set personal = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- for column in node.get('columns', {}).values() -%}
            {%- if (column.get('meta') or {}).get('personal_data') or ((column.get('config') or {}).get('meta') or {}).get('personal_data') -%}
                {%- do personal.append(column.name | lower) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not personal -%}
        {{ exceptions.raise_compiler_error("no column is marked meta.personal_data: the personal-data rule would check nothing") }}
    {%- endif -%}
{%- endif %}
-- every mart, so the test runs after all of them (keep in sync with models/marts)
-- depends_on: {{ ref('kpi_values') }}
-- depends_on: {{ ref('kpi_scorecard') }}
-- depends_on: {{ ref('kpi_attainment') }}
-- depends_on: {{ ref('rep_scorecard') }}
-- depends_on: {{ ref('crm_record_completeness') }}
-- depends_on: {{ ref('early_warnings') }}
-- depends_on: {{ ref('dim_periods') }}
-- depends_on: {{ ref('dim_accounts') }}
-- depends_on: {{ ref('dim_partners') }}
-- depends_on: {{ ref('dim_reps') }}
-- depends_on: {{ ref('fct_contracts') }}
-- depends_on: {{ ref('fct_contract_lines') }}
-- depends_on: {{ ref('fct_payments') }}
-- depends_on: {{ ref('fct_costs') }}
-- depends_on: {{ ref('fct_opportunities') }}
-- depends_on: {{ ref('fct_renewals') }}
-- depends_on: {{ ref('fct_account_years') }}
-- depends_on: {{ ref('dim_kpis') }}
-- depends_on: {{ ref('pipeline_movements') }}
-- depends_on: {{ ref('forecast_commit_deals') }}

select table_name, column_name
from information_schema.columns
where table_schema = 'marts'
  and lower(column_name) in ({% for name in personal | unique %}'{{ name }}'{{ ',' if not loop.last }}{% endfor %})
