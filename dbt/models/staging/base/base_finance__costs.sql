-- raw.costs merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['cost_id'], post_hook="{{ delete_vanished_keys(source('raw', 'costs')) }}") }}
{{ incremental_merge(source('raw', 'costs'), ['cost_id']) }}
