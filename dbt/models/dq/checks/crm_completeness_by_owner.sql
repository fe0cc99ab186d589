-- CRM completeness of the current records by table, key field and owner (rep): key-field cells and
-- filled cells. The Great Expectations step appends it, per run, to dq.crm_completeness_history.
select
    table_name,
    field,
    owner_id,
    count(*) as cells,
    count(*) filter (where is_filled) as filled
from {{ ref('int_crm_completeness_cells') }}
group by table_name, field, owner_id
