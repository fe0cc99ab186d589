{#-
    column_rules: the column-level structural rules of one model (or seed) in ONE query, so a model
    costs dbt one test node, not one per column and rule (~30 ms of dbt's own Python each, every run).
    Each failing (column, rule) is one row with how many rows break it, so the failure still names
    the column (the run summary reads these rows: bdw.quality.summary.dbt_test_lines).
        data_tests:
          - column_rules:
              arguments:
                not_null: [contract_id, account_id]         # no NULL
                unique: [contract_id]                       # no value twice (NULLs ignored)
                accepted_values: {channel: [direct, partner]}  # NULLs pass, as in dbt's test
                expressions: ["amount_cny > 0"]             # every row where it is not NULL
                grain: [contract_id, line_no]               # no two rows with the same values
    Rules without rows: an empty model passes.
-#}
{% test column_rules(model, not_null=[], unique=[], accepted_values={}, expressions=[], grain=[]) %}
{%- set checks = [] -%}
{%- for c in not_null -%}
    {%- do checks.append((c, 'not_null', 'count(*) filter (where ' ~ adapter.quote(c) ~ ' is null)')) -%}
{%- endfor -%}
{%- for c in unique -%}
    {%- do checks.append((c, 'unique', 'count(' ~ adapter.quote(c) ~ ') - count(distinct ' ~ adapter.quote(c) ~ ')')) -%}
{%- endfor -%}
{%- for c, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for v in values -%}{%- do listed.append("'" ~ (v | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
    {%- do checks.append((c, 'accepted_values', 'count(*) filter (where cast(' ~ adapter.quote(c) ~ ' as varchar) not in (' ~ listed | join(', ') ~ '))')) -%}
{%- endfor -%}
{%- for e in expressions -%}
    {%- do checks.append((e, 'expression_is_true', 'count(*) filter (where not coalesce((' ~ e ~ '), true))')) -%}
{%- endfor -%}
{%- if grain -%}
    {%- set cols = [] -%}{%- for c in grain -%}{%- do cols.append(adapter.quote(c)) -%}{%- endfor -%}
    {%- do checks.append((grain | join(', '), 'grain', 'count(*) - count(distinct (' ~ cols | join(', ') ~ '))')) -%}
{%- endif -%}
with counts as (
    select
    {%- for column, rule, expr in checks %}
        {{ expr }} as check_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
select column_name, rule, failing_rows
from (
    {%- for column, rule, expr in checks %}
    select '{{ column | replace("'", "''") }}' as column_name, '{{ rule }}' as rule, check_{{ loop.index }} as failing_rows
    from counts
    {{ "union all" if not loop.last }}
    {%- endfor %}
) as results
where failing_rows > 0
{% endtest %}
