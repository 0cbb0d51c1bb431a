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

citations as (
    -- one row per (decision, cited key): a join, not a scan per decision
    select experiment, version, unnest(evidence) as cited
    from recorded_decisions
),

citing_learning as (
    select distinct citations.experiment, citations.version
    from citations
    join learnings
        on learnings.experiment = citations.experiment and learnings.learning = citations.cited
),

final as (
    select
        recorded_decisions.experiment,
        recorded_decisions.decision,
        recorded_decisions.kind,
        recorded_decisions.occurred_on,
        len(recorded_decisions.evidence) as evidence_count,
        citing_learning.version is not null as cites_learning,
        recorded_decisions.version
    from recorded_decisions
    left join citing_learning using (experiment, version)
)

select * from final
