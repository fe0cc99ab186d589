-- Reference problems of docs/contract.md section 2: rows that loaded (each is valid on its own) but
-- point at something missing. They are reported here with their file and row, and the KPI
-- models leave out what they affect, so they are counted, never silently dropped. Also listed:
-- each contract held back by a finance file in quarantine (the file and the first row naming it),
-- with what of it is loaded and left out.
{% set conversions = [
    ('payments', 'stg_finance__payments', 'payment_id', 'received_date'),
    ('costs', 'stg_finance__costs', 'cost_id', 'cost_date'),
    ('contract_lines', 'stg_finance__contract_lines', "contract_id || ' line ' || line_no", 'signed_date'),
    ('opportunities', 'stg_crm__opportunities', 'opportunity_id', 'fx_date'),
    ('opportunity_snapshots', 'stg_crm__opportunity_snapshots', "opportunity_id || ' @ ' || snapshot_date", 'snapshot_date'),
    ('customer_financials', 'stg_crm__customer_financials', "account_id || ' ' || fiscal_quarter", 'quarter_end_date'),
] %}

with unknown_contract as (
    {% for source, model, key in [
        ('payments', 'stg_finance__payments', 'payment_id'),
        ('costs', 'stg_finance__costs', 'cost_id'),
        ('contract_lines', 'stg_finance__contract_lines', "contract_id || ' line ' || line_no"),
    ] %}
    select
        '{{ source }}' as source, source_file, source_row, {{ key }} as record_key,
        'contract_id' as column_name, 'unknown_contract' as rule, contract_id as value,
        'refers to contract ' || contract_id || ', which is not in the contracts data' as problem,
        'left out of every KPI' as effect
    from {{ ref(model) }}
    where unknown_contract
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

missing_partner as (
    {% for source, model, key in [
        ('contracts', 'stg_finance__contracts', 'contract_id'),
        ('opportunities', 'stg_crm__opportunities', 'opportunity_id'),
    ] %}
    select
        '{{ source }}', source_file, source_row, {{ key }}, 'partner_id', 'missing_partner_id', null,
        'a partner deal (channel = partner) without partner_id',
        'left out of every KPI'
    from {{ ref(model) }}
    where missing_partner_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

missing_fx as (
    {% for source, model, key, on_date in conversions %}
    select
        '{{ source }}', source_file, source_row, {{ key }}, 'currency', 'missing_fx_rate', currency,
        'no fx rate for ' || coalesce(currency, '(no currency)') || ' in '
            || coalesce(strftime({{ on_date }}, '%Y-%m'), '(no date)'),
        'left out of money KPIs'
    from {{ ref(model) }}
    -- a line of an unknown contract has no currency: it is reported once, as unknown_contract
    where missing_fx_rate{% if source == 'contract_lines' %} and not unknown_contract{% endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

recurring_without_end as (
    select
        'contracts', c.source_file, c.source_row, c.contract_id, 'end_date', 'missing_end_date', null,
        'has a recurring line but no end_date', 'left out of renewal KPIs'
    from {{ ref('stg_finance__contracts') }} as c
    where c.end_date is null
      and exists (
          select 1 from {{ ref('stg_finance__contract_lines') }} as l
          where l.contract_id = c.contract_id and l.is_recurring
      )
),

unknown_rep as (
    select
        'quotas', q.source_file, q.source_row, q.rep_id || ' ' || q.period, 'rep_id', 'unknown_rep', q.rep_id,
        'a quota for rep ' || q.rep_id || ', who is not in the reps data',
        'left out of quota_attainment and the rep scorecard'
    from {{ ref('stg_hr__quotas') }} as q
    where not q.is_known_rep
),

not_a_manual_kpi as (
    select
        'manual_measurements', m.source_file, m.source_row, m.kpi_id || ' ' || m.period || ' ' || m.segment,
        'kpi_id', 'not_a_manual_kpi', m.kpi_id,
        'a value of ' || m.kpi_id || ' for ' || m.period || ' (segment ' || m.segment || '), which the seed '
            || 'kpi_definitions no longer has as a KPI measured by hand for that period and segment',
        'left out of the KPIs'
    from {{ ref('stg_manual__measurements') }} as m
    where not m.is_in_catalogue
),

held_back_loaded as (
    {% for source, noun in [('contracts', 'contract'), ('contract_lines', 'line'), ('payments', 'payment'),
                            ('costs', 'cost')] %}
    select contract_id, {{ loop.index }} as ordinal, count(*) || ' {{ noun }}' || case when count(*) = 1 then '' else 's' end
        as what
    from {{ ref('base_finance__' ~ source) }}
    where not coalesce(is_deleted, false)
    group by contract_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

held_back as (
    select
        held.source, held.source_file, held.source_row, held.contract_id, 'contract_id',
        'held_back_by_quarantine', held.contract_id,
        case when held.held_by = 'quarantined_file' then 'this file is in quarantine' else 'this row is in quarantine' end
            || ' and names contract ' || held.contract_id || ': the contract and everything booked to it are held back ('
            || coalesce(string_agg(loaded.what, ', ' order by loaded.ordinal), 'nothing') || ' loaded)',
        'left out of every KPI until the file is fixed'
    from {{ ref('stg_finance__held_back_contracts') }} as held
    left join held_back_loaded as loaded on loaded.contract_id = held.contract_id
    group by held.source, held.source_file, held.source_row, held.contract_id, held.held_by
)

select
    *,
    coalesce(source_file, '(no file)') || ', row ' || coalesce(cast(source_row as varchar), '?') || ', column '
        || coalesce(column_name, '?') || ': ' || coalesce(problem, rule) || ' (' || coalesce(effect, '') || ')'
        as message
from (
    select * from unknown_contract
    union all select * from missing_partner
    union all select * from missing_fx
    union all select * from recurring_without_end
    union all select * from unknown_rep
    union all select * from not_a_manual_kpi
    union all select * from held_back
)
