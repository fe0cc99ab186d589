-- Signed revenue of each account per calendar year and whether it was a strategic customer.
select account_id, year, signed_revenue_cny, is_strategic
from {{ ref('int_account_years') }}
