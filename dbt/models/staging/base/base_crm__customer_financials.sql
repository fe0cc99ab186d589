-- raw.customer_financials merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['account_id', 'fiscal_quarter'], post_hook="{{ delete_vanished_keys(source('raw', 'customer_financials')) }}") }}
{{ incremental_merge(source('raw', 'customer_financials'), ['account_id', 'fiscal_quarter']) }}
