-- model:    coverage_as_of
-- grain:    one row per experiment whose proposal counts at D
-- reads:    experiment_coverage_at (learningloop's table macro), D = var('as_of'), T = now
select *
from experiment_coverage_at(
    {% if var('as_of') %}cast('{{ var("as_of") }}' as date){% else %}null{% endif %},
    null
)
