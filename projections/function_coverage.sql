-- projection: function_coverage
-- grain:      one row per (experiment, function of its programme); functions with no
--             evidence are included with count 0 and nulls
-- reads:      experiments, programme_functions, function_map, stg_functions, moment,
--             default_functions (a table the projector makes from the domain's
--             DEFAULT_FUNCTIONS)
-- respects:   as_of and known_at; a programme whose ProgrammeOpened is not known at T is
--             assessed against the five default functions
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with frameworks as (
    select experiments.experiment, programme_functions.function, programme_functions.label,
        programme_functions.ordinal
    from experiments
    join programme_functions using (programme)
    union all
    select experiments.experiment, default_functions.function, default_functions.label,
        default_functions.ordinal
    from experiments
    cross join default_functions
    where experiments.programme not in (select programme from programme_functions)
),

counted_functions as (
    select type, experiment, function, strength, result, occurred_on, version
    from stg_functions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

function_events as (
    -- evidence and assessments count for their own function, or, under a what-if framework
    -- (function_map not empty), for each function whose `from` names theirs, and only then
    select counted_functions.*,
        coalesce(function_map.function, counted_functions.function) as counted_for
    from counted_functions
    left join function_map on function_map.source_function = counted_functions.function
    where function_map.function is not null or not exists (select 1 from function_map)
),

evidence as (
    select
        experiment,
        counted_for as function,
        count(*) as evidence_count,
        max(strength) as max_strength,
        min(occurred_on) as first_evidenced_on,
        max(occurred_on) as last_evidenced_on
    from function_events
    where type = 'FunctionEvidenced'
    group by experiment, counted_for
),

assessments as (
    -- the latest counted assessment of each function, by (occurred_on, version)
    select experiment, counted_for as function, arg_max(result, (occurred_on, version)) as result
    from function_events
    where type = 'FunctionAssessed'
    group by experiment, counted_for
),

final as (
    select
        frameworks.experiment,
        frameworks.function,
        frameworks.label,
        coalesce(evidence.evidence_count, 0) as evidence_count,
        evidence.max_strength,
        evidence.first_evidenced_on,
        evidence.last_evidenced_on,
        coalesce(evidence.evidence_count, 0) >= 1 as is_covered,
        frameworks.ordinal,
        -- evidence always wins; otherwise the latest assessment (CONTRACT 6.4, 6.11)
        case
            when coalesce(evidence.evidence_count, 0) >= 1 then 'covered'
            else coalesce(assessments.result, 'not_assessed')
        end as status
    from frameworks
    left join evidence using (experiment, function)
    left join assessments using (experiment, function)
)

select * from final
