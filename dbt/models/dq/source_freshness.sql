-- Stale sources: how old each source's newest export is on the run's --as-of date, against its
-- threshold (bdw.quality.freshness). An export that silently stops arriving leaves the KPIs stale;
-- this names it. The date judged is the one in the newest file's name (`2026-03-01_contracts.csv`,
-- docs/contract.md section 1: the day it was exported), of the files whose data the warehouse
-- holds (loaded, loaded with bad rows, or skipped as the same content as a loaded file); a
-- quarantined file delivered nothing. A source with no such file is not judged (no_data), nor one
-- whose file names carry no date (undated), nor one whose threshold is off.
-- Ingestion's manifest and the run's thresholds (raw._freshness_rules, from config/bdw.yml) are
-- read by name, like raw._run_context, so that the Dagster dependencies are the sources themselves:
{% for name in ['accounts', 'opportunities', 'activities', 'opportunity_snapshots', 'forecasts', 'contracts',
                  'contract_lines', 'payments', 'costs', 'fx_rates', 'partners', 'reps', 'rep_reviews',
                  'customer_financials', 'quotas', 'manual_measurements'] -%}
-- depends_on: {{ source('raw', name) }}
{% endfor %}
with delivered as (
    select
        source,
        file,
        try_strptime(nullif(regexp_extract(regexp_extract(file, '[^/]*$'), '^\d{4}-\d{2}-\d{2}'), ''),
                     '%Y-%m-%d')::date as file_date
    from raw._load_manifest
    where status in ('loaded', 'partial', 'duplicate')
),

per_source as (
    select
        source,
        count(*) as files,
        -- the newest dated file: dated names start with the date, so the last in name order
        -- (processing order; of two with the same date, the one processed last)
        max(file) filter (where file_date is not null) as newest_file,
        max(file_date) as newest_file_date
    from delivered
    group by source
),

aged as (
    select
        rules.source,
        rules.cadence,
        rules.max_age_days,
        coalesce(per_source.files, 0) as files,
        per_source.newest_file,
        per_source.newest_file_date,
        {{ as_of_date() }} as as_of_date,
        date_diff('day', per_source.newest_file_date, {{ as_of_date() }}) as age_days
    from raw._freshness_rules as rules
    left join per_source on per_source.source = rules.source
)

select
    *,
    case
        when files = 0 then 'no_data'
        when max_age_days is null then 'off'
        when newest_file_date is null then 'undated'
        when age_days > max_age_days then 'stale'
        else 'fresh'
    end as status
from aged
