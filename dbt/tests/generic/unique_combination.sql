{#-
    unique_combination: no two rows share the same values of `combination_of_columns`
    (a composite key). Rows with a NULL in any key column are checked by not_null separately.
        data_tests:
          - unique_combination:
              arguments:
                combination_of_columns: [contract_id, line_no]
-#}
{% test unique_combination(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
