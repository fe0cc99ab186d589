-- Team roster: one row per live rep_id. role_tags stays as text (';'-separated) with a boolean
-- per known tag.
with merged as (
    {{ latest_per_key(source('raw', 'reps'), ['rep_id']) }}
),

cleaned as (
    select
        *,
        -- tags compared trimmed and case-insensitively
        string_split(lower(replace(coalesce(role_tags, ''), ' ', '')), ';') as role_tag_list
    from merged
)

select
    rep_id,
    rep_name,
    team,
    region,
    hire_date,
    leave_date,
    role_tags,
    list_contains(role_tag_list, 'big_deal_lead') as is_big_deal_lead,
    list_contains(role_tag_list, 'overseas_consultant') as is_overseas_consultant,
    _source_file as source_file,
    _row_number as source_row
from cleaned
