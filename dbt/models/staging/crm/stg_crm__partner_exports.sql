-- Partner history (docs/metrics.md section 2: partner attributes are taken as of each period's end):
-- one row per partner and partners export that holds it. The raw layer keeps every export; an
-- export is dated by the leading date of its file name (`2025-06-30_partners.csv`, as the run's
-- as-of date is), a file without one by the day it was loaded. Within one export date the merge
-- rule applies. valid_from .. valid_to are the days on which this version is the latest export
-- dated on or before the day; the partner's first version also stands for the days before it
-- (nothing earlier is known). stg_crm__partners is the current version.
with dated as (
    select
        *,
        coalesce(
            cast(try_strptime(regexp_extract(_source_file, '(?:^|/)(\d{4}-\d{2}-\d{2})[^/]*$', 1), '%Y-%m-%d') as date),
            cast(_loaded_at as date)
        ) as export_date
    from {{ source('raw', 'partners') }}
),

versions as (
    {{ latest_per_key('dated', ['export_date', 'partner_id']) }}
)

select
    partner_id,
    export_date,
    case when row_number() over (partition by partner_id order by export_date) = 1
        then date '1900-01-01' else export_date end as valid_from,
    coalesce(
        cast(lead(export_date) over (partition by partner_id order by export_date) - 1 as date),
        date '9999-12-31'
    ) as valid_to,
    region,
    tier,
    certified_date,
    health_score,
    coalesce(credit_suspended, false) as credit_suspended,
    _source_file as source_file,
    _row_number as source_row
from versions
