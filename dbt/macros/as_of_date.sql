{#-
    as_of_date(): "today" for periods in progress and pending renewals (docs/contract.md section 3,
    `bdw run --as-of`), as a SQL DATE. A run writes its date into the one-row table
    raw._run_context before dbt builds (bdw.run_context.write_run_context): read at query time, it
    keeps dbt's partial parsing valid from one night to the next (a changed --vars value would make
    dbt re-parse the whole project). The var `as_of` ('YYYY-MM-DD') overrides it, for unit tests and
    ad-hoc builds:
        dbt build --vars '{as_of: 2026-11-26}'
    With neither, current_date.
-#}
{% macro as_of_date() -%}
    {%- set v = var('as_of', none) -%}
    {%- if v is none or (v | string | trim) in ('', 'none', 'None', 'null') -%}
        coalesce((select max(as_of) from raw._run_context), current_date)
    {%- else -%}
        cast('{{ v | string | trim }}' as date)
    {%- endif -%}
{%- endmacro %}
