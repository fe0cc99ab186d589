{#-
    trim_text(col): the text without leading/trailing whitespace, including the no-break space
    (U+00A0) and the ideographic space (U+3000) that Chinese exports contain.
-#}
{% macro trim_text(col) -%}
    trim({{ col }}, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160) || chr(12288))
{%- endmacro %}


{#-
    normalize_placeholder(col): the trimmed text, or NULL when it is blank or one of the CRM
    placeholders of the seed `crm_placeholders` (compared trimmed and case-insensitively), e.g.
    'N/A', ' tbd ', '未知'. docs/metrics.md (crm_completeness) counts such a cell as empty; staging turns
    it into NULL so every later model sees "not filled" the same way.
-#}
{% macro normalize_placeholder(col) -%}
    case
        when nullif({{ trim_text(col) }}, '') is null then null
        when lower({{ trim_text(col) }}) in (
            select lower({{ trim_text('placeholder') }})
            from {{ ref('crm_placeholders') }}
            where placeholder is not null
        ) then null
        else {{ trim_text(col) }}
    end
{%- endmacro %}


{#- upper_code(col): a currency (or country) code trimmed and in upper case; blank -> NULL. -#}
{% macro upper_code(col) -%}
    nullif(upper({{ trim_text(col) }}), '')
{%- endmacro %}
