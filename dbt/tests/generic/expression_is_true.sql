{#-
    expression_is_true: every row satisfies the SQL `expression` (rows where it is NULL pass,
    like not_null leaves NULLs to its own test). Usable on a model or on one column:
        data_tests:
          - expression_is_true:
              arguments:
                expression: "rate_to_cny > 0"
-#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), true)
{% endtest %}
