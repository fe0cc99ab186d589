-- raw.opportunities merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['opportunity_id'], post_hook="{{ delete_vanished_keys(source('raw', 'opportunities')) }}") }}
{{ incremental_merge(source('raw', 'opportunities'), ['opportunity_id']) }}
