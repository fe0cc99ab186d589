-- raw.contracts merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['contract_id'], post_hook="{{ delete_vanished_keys(source('raw', 'contracts')) }}") }}
{{ incremental_merge(source('raw', 'contracts'), ['contract_id']) }}
