{#-
    Helpers of the KPI models (intermediate/ and marts/), docs/metrics.md sections 1, 2 and 4.
-#}


{#-
    period_keys(date_expr): the three calendar periods a date falls in, as a LIST of
    STRUCT(period_type, period) - `year` ('2025'), `quarter` ('2025-Q3'), `month` ('2025-07').
    Unnest it to give a row one copy per period, then join int_periods on (period_type, period):
        with by_period as (
            select l.*, unnest({{ period_keys('l.signed_date') }}) as p from lines as l
        )
        select p.period_type, p.period, sum(amount_cny) from by_period group by all
-#}
{% macro period_keys(date_expr) -%}
    [
        {'period_type': 'year', 'period': strftime({{ date_expr }}, '%Y')},
        {'period_type': 'quarter', 'period': strftime({{ date_expr }}, '%Y') || '-Q' || quarter({{ date_expr }})},
        {'period_type': 'month', 'period': strftime({{ date_expr }}, '%Y-%m')}
    ]
{%- endmacro %}


{#-
    segment_list(dimensions): the segments a row belongs to (docs/metrics.md section 1), as a LIST of
    VARCHAR: 'all' plus one 'dimension=value' per dimension. `dimensions` is a list of
    (dimension name, SQL expression) pairs; a NULL value becomes 'unknown', a boolean is written
    'true' / 'false'. Unnest it to count a row once in 'all' and once per breakdown:
        unnest({{ segment_list([('channel', 'channel'), ('strategic', 'is_strategic')]) }}) as segment
    so the rows of one dimension always add up to the 'all' row.
-#}
{% macro segment_list(dimensions) -%}
    [
        'all'
        {%- for name, expr in dimensions %},
        '{{ name }}=' || coalesce(cast({{ expr }} as varchar), 'unknown')
        {%- endfor %}
    ]
{%- endmacro %}


{#-
    threshold(name): a parameter of the seed `kpi_thresholds` as a DOUBLE scalar subquery, e.g.
    {{ threshold('renewal_grace_days') }}. The manager and finance edit the seed, not the SQL.
-#}
{% macro threshold(name) -%}
    (select cast(value as double) from {{ ref('kpi_thresholds') }} where parameter = '{{ name }}')
{%- endmacro %}


{#-
    safe_ratio(numerator, denominator): numerator / denominator as DOUBLE, NULL (absent, never 0)
    when the denominator is NULL or 0.
-#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}


{#-
    kpi_status(value, target, plan_to_date, direction, is_complete): the status rule of
    docs/metrics.md section 4, the one rule behind marts.kpi_attainment (and through it
    marts.kpi_values, marts.kpi_scorecard and the report) and marts.rep_scorecard. A complete period
    is `met` when the value reaches the target (plan to date = target then), else `missed`; a period
    in progress is `on_track` when the value reaches its plan to date (section 6), `at_risk` within
    the band of the seed kpi_thresholds (`status_at_risk_band`, 10%) of it, else `off_track`.
    "Reaches" is at or above for direction `higher`, at or below for `lower`. NULL without a target
    or a value.
-#}
{% macro kpi_status(value, target, plan_to_date, direction, is_complete) -%}
    case
        when {{ target }} is null or {{ value }} is null or {{ plan_to_date }} is null then null
        when ({{ direction }} = 'lower' and {{ value }} <= {{ plan_to_date }})
            or ({{ direction }} <> 'lower' and {{ value }} >= {{ plan_to_date }})
            then case when {{ is_complete }} then 'met' else 'on_track' end
        when {{ is_complete }} then 'missed'
        when ({{ direction }} = 'lower'
                and {{ value }} <= {{ plan_to_date }} + abs({{ plan_to_date }}) * {{ threshold('status_at_risk_band') }})
            or ({{ direction }} <> 'lower'
                and {{ value }} >= {{ plan_to_date }} - abs({{ plan_to_date }}) * {{ threshold('status_at_risk_band') }})
            then 'at_risk'
        else 'off_track'
    end
{%- endmacro %}
