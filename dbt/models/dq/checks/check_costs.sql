-- The input of the cost checks (Great Expectations, docs/data_quality.md): each cost with the file
-- and row it came from, in words.
select
    cost_id,
    contract_id,
    cost_date,
    amount,
    currency,
    source_file,
    source_row,
    'cost ' || cost_id || ' (' || {{ source_ref() }} || ')' as row_ref
from {{ ref('stg_finance__costs') }}
