-- The input of the contract-line checks (Great Expectations, docs/data_quality.md): each line with
-- the file and row it came from, in words.
select
    contract_id,
    line_no,
    amount,
    currency,
    source_file,
    source_row,
    'contract ' || contract_id || ' line ' || line_no || ' (' || {{ source_ref() }} || ')' as row_ref
from {{ ref('stg_finance__contract_lines') }}
