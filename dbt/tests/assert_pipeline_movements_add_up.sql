-- The pipeline waterfall's identity (docs/metrics.md section 8), on every quarter: opening + Σ
-- movements = closing, to the cent; and the deals likewise (opening + those that came in - those
-- that went out = closing; increased and decreased deals stay in).
select
    quarter,
    sum(amount_cny) filter (where movement = 'opening') as opening_cny,
    sum(amount_cny) filter (where movement not in ('opening', 'closing')) as movements_cny,
    sum(amount_cny) filter (where movement = 'closing') as closing_cny
from {{ ref('pipeline_movements') }}
group by quarter
having coalesce(sum(amount_cny) filter (where movement = 'opening'), 0)
       + coalesce(sum(amount_cny) filter (where movement not in ('opening', 'closing')), 0)
       <> coalesce(sum(amount_cny) filter (where movement = 'closing'), 0)
    or coalesce(sum(deal_count) filter (where movement = 'opening'), 0)
       + coalesce(sum(deal_count) filter (where movement in ('created', 'pulled_in', 'reopened')), 0)
       - coalesce(sum(deal_count) filter (where movement in ('won', 'lost', 'pushed_out', 'removed')), 0)
       <> coalesce(sum(deal_count) filter (where movement = 'closing'), 0)
