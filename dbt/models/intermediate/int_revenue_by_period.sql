-- Signed revenue of every period that has begun, and the parts of it other KPIs need
-- (recurring, saas, overseas in CNY and USD, partner, direct, gold partners). One row per period
-- with at least one included contract line; a period without one has no row (absent, not 0).
with lines as (
    select
        lines.*,
        unnest({{ period_keys('lines.signed_date') }}) as p
    from {{ ref('int_contract_lines_cny') }} as lines
    where lines.is_revenue_included
)

select
    periods.period_type,
    periods.period,
    sum(lines.amount_cny) as revenue_cny,
    coalesce(sum(lines.amount_cny) filter (where lines.is_recurring), 0) as recurring_revenue_cny,
    coalesce(sum(lines.amount_cny) filter (where lines.product_family = 'saas'), 0) as saas_revenue_cny,
    coalesce(sum(lines.amount_cny) filter (where lines.region_group = 'overseas'), 0) as overseas_revenue_cny,
    coalesce(sum(lines.amount_usd) filter (where lines.region_group = 'overseas'), 0) as overseas_revenue_usd,
    coalesce(sum(lines.amount_cny) filter (where lines.channel = 'partner'), 0) as partner_revenue_cny,
    coalesce(sum(lines.amount_cny) filter (where lines.channel = 'direct'), 0) as direct_revenue_cny,
    coalesce(sum(lines.amount_cny) filter (where lines.channel = 'partner' and lines.partner_tier = 'gold'), 0)
        as gold_partner_revenue_cny
from lines
inner join {{ ref('int_periods') }} as periods
    on periods.period_type = lines.p.period_type
    and periods.period = lines.p.period
where periods.has_begun
group by periods.period_type, periods.period
