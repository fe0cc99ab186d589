-- raw.accounts merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['account_id'], post_hook="{{ delete_vanished_keys(source('raw', 'accounts')) }}") }}
{{ incremental_merge(source('raw', 'accounts'), ['account_id']) }}
