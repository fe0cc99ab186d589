{#-
    Schemas are exactly the names configured in dbt_project.yml (staging, intermediate, marts,
    seeds), not dbt's default <target_schema>_<custom_schema>: analysts and the publishing step
    rely on `marts.*`. Nodes without a custom schema go to the target's schema (main).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
