{#-
    The merge rules of CONTRACT.md section 1, for one raw table:
    for each key the row from the lexically last `_source_file` wins (ties: the highest
    `_row_number` in that file); when the winning row has is_deleted = true the key is removed.

    The deleted filter is applied AFTER picking the winner: a deletion in a later file hides the
    key even though earlier files still hold live rows for it, and a later re-export brings it back.

    `key_columns` are column names or SQL expressions (e.g. upper_code('currency') when the key
    is compared normalized). Returns a SELECT of every raw column, one row per live key. Use it
    as the first CTE:
        with merged as ({{ latest_per_key(source('raw', 'payments'), ['payment_id']) }})
-#}
{% macro latest_per_key(relation, key_columns) -%}
    {%- if key_columns is string -%}{%- set key_columns = [key_columns] -%}{%- endif -%}
    select * exclude (_merge_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _source_file desc, _row_number desc
            ) as _merge_rank
        from {{ relation }}
    ) as ranked
    where _merge_rank = 1
      and not coalesce(is_deleted, false)
{%- endmacro %}
