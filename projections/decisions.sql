-- projection: decisions
-- grain:      one row per counted DecisionRecorded
-- reads:      stg_decisions, stg_learnings, moment
-- respects:   as_of and known_at; cites_learning needs a counted learning of the experiment
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with learnings as (
    select distinct experiment, learning
    from stg_learnings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

recorded_decisions as (
    select experiment, decision, kind, occurred_on, version, evidence
    from stg_decisions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
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
