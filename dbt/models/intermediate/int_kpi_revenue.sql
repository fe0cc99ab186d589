-- Revenue KPIs in long form (kpi_id, period_type, period, segment, value): signed_revenue with its
-- segments (owner for years and quarters only, partner for the partner channel),
-- signed_revenue_growth, renewable_revenue, renewable_share, saas_share, overseas_revenue_share,
-- overseas_revenue_usd, strategic_customer_count, strategic_revenue_share, top_customer_share,
-- top5_customer_share, top_industry_share and gold_partner_revenue (the partner's tier when the
-- contract was signed). Periods without included revenue have no rows.
with periods as (
    select * from {{ ref('int_periods') }} where has_begun
),

lines as (
    select * from {{ ref('int_contract_lines_cny') }} where is_revenue_included
),

line_periods as (
    select lines.*, unnest({{ period_keys('lines.signed_date') }}) as p
    from lines
),

line_segments as (
    select
        line_periods.p.period_type as period_type,
        line_periods.p.period as period,
        line_periods.amount_cny,
        unnest({{ segment_list([
            ('region_group', 'region_group'), ('region', 'region'), ('channel', 'channel'),
            ('contract_type', 'contract_type'), ('product_family', 'product_family'),
            ('industry', 'industry')]) }}) as segment
    from line_periods
    inner join periods
        on periods.period_type = line_periods.p.period_type
        and periods.period = line_periods.p.period
),

signed_revenue as (
    select 'signed_revenue' as kpi_id, period_type, period, segment, cast(sum(amount_cny) as double) as value
    from line_segments
    group by period_type, period, segment
    union all
    -- segment owner: years and quarters only (docs/metrics.md section 7)
    select 'signed_revenue', line_periods.p.period_type, line_periods.p.period, 'owner=' || line_periods.owner_id,
           cast(sum(line_periods.amount_cny) as double)
    from line_periods
    inner join periods
        on periods.period_type = line_periods.p.period_type
        and periods.period = line_periods.p.period
    where line_periods.p.period_type in ('year', 'quarter')
    group by all
    union all
    -- segment partner: the partner-channel contracts by partner (they add up to channel=partner)
    select 'signed_revenue', line_periods.p.period_type, line_periods.p.period, 'partner=' || line_periods.partner_id,
           cast(sum(line_periods.amount_cny) as double)
    from line_periods
    inner join periods
        on periods.period_type = line_periods.p.period_type
        and periods.period = line_periods.p.period
    where line_periods.channel = 'partner'
    group by all
),

totals as (
    select * from {{ ref('int_revenue_by_period') }}
),

-- like for like: the period up to its measure date (its last day, or --as-of while it runs)
-- against the same days one year earlier
growth as (
    select
        'signed_revenue_growth' as kpi_id,
        periods.period_type,
        periods.period,
        'all' as segment,
        {{ safe_ratio(
            'sum(lines.amount_cny) filter (where lines.signed_date between periods.period_start and periods.measure_date)',
            'sum(lines.amount_cny) filter (where lines.signed_date between periods.prior_year_start and periods.prior_year_measure_date)'
        ) }} - 1 as value
    from periods
    inner join lines
        on lines.signed_date between periods.prior_year_start and periods.measure_date
    group by periods.period_type, periods.period
    having count(*) filter (where lines.signed_date between periods.period_start and periods.measure_date) > 0
),

account_revenue as (
    select line_periods.p.period_type as period_type, line_periods.p.period as period, account_id,
           sum(amount_cny) as revenue_cny
    from line_periods
    group by all
),

account_ranks as (
    select
        *,
        row_number() over (partition by period_type, period order by revenue_cny desc, account_id) as revenue_rank
    from account_revenue
),

account_shares as (
    select
        account_ranks.period_type,
        account_ranks.period,
        {{ safe_ratio('max(account_ranks.revenue_cny) filter (where account_ranks.revenue_rank = 1)', 'max(totals.revenue_cny)') }} as top_share,
        {{ safe_ratio('sum(account_ranks.revenue_cny) filter (where account_ranks.revenue_rank <= 5)', 'max(totals.revenue_cny)') }} as top5_share
    from account_ranks
    inner join totals
        on totals.period_type = account_ranks.period_type and totals.period = account_ranks.period
    group by account_ranks.period_type, account_ranks.period
),

industry_shares as (
    select
        industry_revenue.period_type,
        industry_revenue.period,
        {{ safe_ratio('max(industry_revenue.revenue_cny)', 'max(totals.revenue_cny)') }} as top_industry_share
    from (
        select line_periods.p.period_type as period_type, line_periods.p.period as period, industry,
               sum(amount_cny) as revenue_cny
        from line_periods
        where industry <> 'unknown'
        group by all
    ) as industry_revenue
    inner join totals
        on totals.period_type = industry_revenue.period_type and totals.period = industry_revenue.period
    group by industry_revenue.period_type, industry_revenue.period
),

strategic as (
    select
        totals.period_type,
        totals.period,
        count(*) filter (where account_years.is_strategic) as strategic_customers,
        coalesce(sum(account_years.signed_revenue_cny) filter (where account_years.is_strategic), 0)
            as strategic_revenue_cny,
        max(totals.revenue_cny) as revenue_cny
    from totals
    inner join {{ ref('int_account_years') }} as account_years
        on cast(account_years.year as varchar) = totals.period
    where totals.period_type = 'year'
    group by totals.period_type, totals.period
),

partners_known as (
    select count(*) > 0 as has_partners from {{ ref('stg_crm__partners') }}
)

select * from signed_revenue
union all
select * from growth
union all
select kpi_id, period_type, period, 'all', value
from totals
cross join partners_known
cross join lateral (
    values
        ('renewable_revenue', cast(totals.recurring_revenue_cny as double)),
        ('renewable_share', {{ safe_ratio('totals.recurring_revenue_cny', 'totals.revenue_cny') }}),
        ('saas_share', {{ safe_ratio('totals.saas_revenue_cny', 'totals.revenue_cny') }}),
        ('overseas_revenue_share', {{ safe_ratio('totals.overseas_revenue_cny', 'totals.revenue_cny') }}),
        ('overseas_revenue_usd', totals.overseas_revenue_usd),
        ('gold_partner_revenue', case when partners_known.has_partners
            then cast(totals.gold_partner_revenue_cny as double) end)
) as kpis(kpi_id, value)
union all
select kpi_id, period_type, period, 'all', value
from account_shares
cross join lateral (
    values ('top_customer_share', account_shares.top_share), ('top5_customer_share', account_shares.top5_share)
) as kpis(kpi_id, value)
union all
select 'top_industry_share', period_type, period, 'all', top_industry_share
from industry_shares
union all
select kpi_id, period_type, period, 'all', value
from strategic
cross join lateral (
    values
        ('strategic_customer_count', cast(strategic.strategic_customers as double)),
        ('strategic_revenue_share', {{ safe_ratio('strategic.strategic_revenue_cny', 'strategic.revenue_cny') }})
) as kpis(kpi_id, value)
