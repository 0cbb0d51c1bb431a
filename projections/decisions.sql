-- projection: decisions
-- grain:      one row per counted DecisionRecorded
-- reads:      counted_events (DecisionRecorded, LearningRecorded)
-- respects:   as_of and known_at; cites_learning needs a counted learning of the experiment
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with learnings as (
    select distinct experiment, subject as learning
    from counted_events
    where type = 'LearningRecorded'
),

recorded_decisions as (
    select experiment, subject as decision, kind, occurred_on, version,
        coalesce(evidence_keys, []) as evidence
    from counted_events
    where type = 'DecisionRecorded'
),

final as (
    select
        experiment,
        decision,
        kind,
        occurred_on,
        len(evidence) as evidence_count,
        exists (
            select 1
            from learnings
            where learnings.experiment = recorded_decisions.experiment
                and list_contains(recorded_decisions.evidence, learnings.learning)
        ) as cites_learning,
        version
    from recorded_decisions
)

select * from final
