{#-
    as_of_date(): "today" for periods in progress and pending renewals (CONTRACT.md section 3,
    `bdw run --as-of`), as a SQL DATE: the var `as_of` ('YYYY-MM-DD') or current_date when unset.
        dbt build --vars '{as_of: 2026-11-26}'
-#}
{% macro as_of_date() -%}
    {%- set v = var('as_of', none) -%}
    {%- if v is none or (v | string | trim) in ('', 'none', 'None', 'null') -%}
        current_date
    {%- else -%}
        cast('{{ v | string | trim }}' as date)
    {%- endif -%}
{%- endmacro %}
