-- raw.opportunity_snapshots merged: the winning row per key, deletions kept as tombstones (built incrementally).
{{ config(unique_key=['snapshot_date', 'opportunity_id'], post_hook="{{ delete_vanished_keys(source('raw', 'opportunity_snapshots')) }}") }}
{{ incremental_merge(source('raw', 'opportunity_snapshots'), ['snapshot_date', 'opportunity_id']) }}
