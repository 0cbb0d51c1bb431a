-- projection: function_coverage
-- grain:      one row per (experiment, function of its programme); functions with no
--             evidence are included with count 0 and nulls
-- reads:      experiments, programme_functions, counted_events (FunctionEvidenced,
--             FunctionAssessed)
-- respects:   as_of and known_at; a programme whose ProgrammeOpened is not known at T is
--             assessed against the five default functions
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with default_functions as (
    select *
    from (
        values
            ('training', 'training', 'formation', 1),
            ('support', 'social and professional support',
             'accompagnement social et professionnel', 2),
            ('production', 'production', 'production', 3),
            ('local_development', 'local and partnership development',
             'développement local et partenarial', 4),
            ('employer', 'employer function', 'fonction d''employeur', 5)
    ) as defaults (function, label, label_fr, ordinal)
),

frameworks as (
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

evidence as (
    select
        experiment,
        subject as function,
        count(*) as evidence_count,
        max(strength) as max_strength,
        min(occurred_on) as first_evidenced_on,
        max(occurred_on) as last_evidenced_on
    from counted_events
    where type = 'FunctionEvidenced'
    group by experiment, subject
),

assessments as (
    -- the latest counted assessment of each function, by (occurred_on, version)
    select experiment, subject as function, arg_max(result, (occurred_on, version)) as result
    from counted_events
    where type = 'FunctionAssessed'
    group by experiment, subject
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
