-- projection: experiment_coverage
-- grain:      one row per experiment
-- reads:      function_coverage
-- respects:   as_of and known_at (through function_coverage)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select
        experiment,
        count(*) filter (where is_covered) as functions_covered,
        count(*) as functions_total,
        -- on integers: halves away from zero exactly (0.0375 is 0.03749… as a double)
        ((2000 * count(*) filter (where is_covered) + count(*)) // (2 * count(*)))
        / 1000 as coverage_ratio,
        -- covered functions count as assessed too (CONTRACT 6.11)
        count(*) filter (where status <> 'not_assessed') as functions_assessed
    from function_coverage
    group by experiment
)

select * from final
