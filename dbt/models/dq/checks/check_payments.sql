-- The input of the payment checks (Great Expectations, docs/data_quality.md): each payment with the
-- file and row it came from, in words.
select
    payment_id,
    contract_id,
    received_date,
    amount,
    currency,
    source_file,
    source_row,
    'payment ' || payment_id || ' (' || {{ source_ref() }} || ')' as row_ref
from {{ ref('stg_finance__payments') }}
