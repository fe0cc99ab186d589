-- raw.activities merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['activity_id'], post_hook="{{ delete_vanished_keys(source('raw', 'activities')) }}") }}
{{ incremental_merge(source('raw', 'activities'), ['activity_id']) }}
