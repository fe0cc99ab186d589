-- Signed revenue of each account per calendar year, and whether that makes it a strategic
-- customer that year (at least the seed threshold `strategic_customer_min_revenue_cny`,
-- 5,000,000 CNY by default, inclusive).
select
    account_id,
    year(signed_date) as year,
    sum(amount_cny) as signed_revenue_cny,
    sum(amount_cny) >= {{ threshold('strategic_customer_min_revenue_cny') }} as is_strategic
from {{ ref('int_contract_lines_cny') }}
where is_revenue_included
group by account_id, year(signed_date)
