-- Active partners at every month-end (docs/metrics.md average headcount and section 2): for every
-- month begun by --as-of, each partner active on its last day (or on --as-of for the month still
-- running): onboarded_date on or before that day and terminated_date null or after it. Tier,
-- region, health score, credit suspension and certification are the partner's as of that day: the
-- latest partners export dated on or before it (stg_crm__partner_exports, whose first version of a
-- partner also covers the days before it), not today's values.
select
    months.period as month,
    months.measure_date,
    partners.partner_id,
    versions.region,
    case when versions.region = 'CN' then 'domestic' when versions.region is not null then 'overseas' end
        as region_group,
    versions.tier,
    versions.health_score,
    coalesce(versions.certified_date <= months.measure_date, false) as is_certified,
    versions.credit_suspended
from {{ ref('int_periods') }} as months
inner join {{ ref('stg_crm__partners') }} as partners
    on partners.onboarded_date <= months.measure_date
    and (partners.terminated_date is null or partners.terminated_date > months.measure_date)
left join {{ ref('stg_crm__partner_exports') }} as versions
    on versions.partner_id = partners.partner_id
    and months.measure_date between versions.valid_from and versions.valid_to
where months.period_type = 'month'
  and months.has_begun
