{#-
    The merge rules of docs/contract.md section 1, for one raw table:
    for each key the row from the lexically last `_source_file` wins (ties: the highest
    `_row_number` in that file); when the winning row has is_deleted = true the key is removed.

    The deleted filter is applied AFTER picking the winner: a deletion in a later file hides the
    key even though earlier files still hold live rows for it, and a later re-export brings it back.
    With keep_deleted=true the winning deletions stay in (as tombstones, is_deleted = true): the
    incremental base models keep them so that a later run can tell a deleted key from a new one.

    `key_columns` are column names or SQL expressions (e.g. upper_code('currency') when the key
    is compared normalized). Returns a SELECT of every raw column, one row per live key. Use it
    as the first CTE:
        with merged as ({{ latest_per_key(source('raw', 'payments'), ['payment_id']) }})
-#}
{% macro latest_per_key(relation, key_columns, keep_deleted=false) -%}
    {%- if key_columns is string -%}{%- set key_columns = [key_columns] -%}{%- endif -%}
    select * exclude (_merge_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _source_file desc, _row_number desc
            ) as _merge_rank
        from {{ relation }}
    ) as ranked
    where _merge_rank = 1
    {%- if not keep_deleted %}
      and not coalesce(is_deleted, false)
    {%- endif %}
{%- endmacro %}


{#-
    The merge rule, incrementally (the base models in staging/base). A full build is
    latest_per_key over the whole raw table, tombstones kept. An incremental build recomputes the
    winner only for the keys a run can have changed, over ALL their raw rows (so a late file whose
    name sorts earlier, a deletion or a re-export all come out as in a full build):
      - keys of raw rows loaded after the newest row already merged (`_loaded_at`: the load
        transaction's time, the same for every file a run loads into a source, and a load is
        committed before dbt starts, so nothing with that time can still be missing), and
      - keys whose merged row came from a file version that is no longer in raw (a file replaced
        by a new export under the same name): `file_versions_gone`.
    dbt's delete+insert then swaps those keys; `delete_vanished_keys` (post-hook) drops keys that
    no raw row holds any more. `key_columns` must be plain column names here.
-#}
{% macro incremental_merge(relation, key_columns) -%}
    {%- if key_columns is string -%}{%- set key_columns = [key_columns] -%}{%- endif -%}
    {%- if is_incremental() %}
    with gone as ({{ file_versions_gone(relation) }}),

    touched as (
        select {{ key_columns | join(', ') }}
        from {{ relation }}
        where _loaded_at > (select coalesce(max(_loaded_at), timestamp '1900-01-01') from {{ this }})
        union
        select {{ key_columns | join(', ') }}
        from {{ this }} semi join gone using (_source_file, _file_hash)
    ),

    candidates as (
        select * from {{ relation }} semi join touched using ({{ key_columns | join(', ') }})
    )

    {{ latest_per_key('candidates', key_columns, keep_deleted=true) }}
    {%- else %}
    {{ latest_per_key(relation, key_columns, keep_deleted=true) }}
    {%- endif %}
{%- endmacro %}


{#- The file versions (_source_file, _file_hash) the merged table holds rows of and raw no longer
    does. Compared as distinct pairs (a few hundred files), not row against row: at millions of
    rows the row-wise anti-join cost more than the whole merge. -#}
{% macro file_versions_gone(relation) -%}
    select distinct _source_file, _file_hash from {{ this }}
    except
    select distinct _source_file, _file_hash from {{ relation }}
{%- endmacro %}


{#- Post-hook of the base models: after an incremental build, a merged row whose file version is
    no longer in raw belongs to a key that no file holds any more (every other such key was
    recomputed by incremental_merge). -#}
{% macro delete_vanished_keys(relation) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as merged
    using ({{ file_versions_gone(relation) }}) as gone
    where merged._source_file = gone._source_file and merged._file_hash = gone._file_hash
    {%- endif -%}
{%- endmacro %}
