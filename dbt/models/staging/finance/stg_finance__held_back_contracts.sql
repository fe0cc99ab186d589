-- Contracts held back (docs/contract.md section 2): a finance file in quarantine (or a rejected
-- row of contracts, contract_lines, payments or costs) names them, so what is loaded of them may be
-- incomplete. Until the file is fixed (or removed from the inbox) the contract and everything
-- booked to it are left out of staging, so out of every KPI and every finance check, and
-- dq.reference_issues lists them; the rest of the data publishes.
-- Ingestion writes the list (raw._held_back_contracts) while it loads these four sources; the table
-- is read by name, like raw._run_context, so that its Dagster dependencies are those sources:
-- depends_on: {{ source('raw', 'contracts') }}
-- depends_on: {{ source('raw', 'contract_lines') }}
-- depends_on: {{ source('raw', 'payments') }}
-- depends_on: {{ source('raw', 'costs') }}
select
    held.contract_id,
    held.source,
    held.file as source_file,
    min(held.row_number) as source_row,
    case when any_value(manifest.status) = 'quarantined' then 'quarantined_file' else 'rejected_row' end as held_by
from raw._held_back_contracts as held
left join raw._load_manifest as manifest
    on manifest.source = held.source and manifest.file = held.file
group by held.contract_id, held.source, held.file
