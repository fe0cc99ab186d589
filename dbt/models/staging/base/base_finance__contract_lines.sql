-- raw.contract_lines merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['contract_id', 'line_no'], post_hook="{{ delete_vanished_keys(source('raw', 'contract_lines')) }}") }}
{{ incremental_merge(source('raw', 'contract_lines'), ['contract_id', 'line_no']) }}
