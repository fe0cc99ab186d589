-- raw.payments merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['payment_id'], post_hook="{{ delete_vanished_keys(source('raw', 'payments')) }}") }}
{{ incremental_merge(source('raw', 'payments'), ['payment_id']) }}
