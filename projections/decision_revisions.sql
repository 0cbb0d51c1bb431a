-- projection: decision_revisions
-- grain:      one row per (counted decision, distinct evidence key) whose evidence was revised
--             after the decision was recorded
-- reads:      stg_decisions, stg_learnings, stg_review_sessions (a retraction's target),
--             log_events (EventRetracted: the retraction's own position orders the
--             revisions), moment
-- respects:   as_of and known_at for the decision and a restatement. `retracted`: a retraction
--             known at T, recorded after the decision, of a LearningRecorded of that key or a
--             ReviewSessionHeld of that review recorded before it (the retraction's own dates
--             do not matter). `restated`: a counted LearningRecorded of that key recorded
--             after it. The earliest revision (log position) decides revision and revised_at.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with cited as (
    select experiment, decision, position, unnest(list_distinct(evidence)) as evidence
    from (
        select experiment, decision, position, evidence
        from stg_decisions
        where recorded_at <= (select known_at from moment)
            and (retracted_at is null or retracted_at > (select known_at from moment))
            and occurred_on <= (select as_of from moment)
    )
),

-- the events a decision can cite, from their staging rows (every stored one, whatever its
-- dates): a retraction's target is found there, not by a second pass over log_events
citable as (
    select stream, version, position, learning as evidence
    from stg_learnings
    union all
    select stream, version, position, review as evidence
    from stg_review_sessions
),

-- materialized: planned on its own, a retraction is paired with its target first; inlined,
-- the optimizer paired every retraction of an experiment with every cited key first
retractions as materialized (
    select
        retraction.experiment,
        target.evidence,
        target.position as target_position,
        retraction.position,
        retraction.recorded_at
    from log_events as retraction
    join citable as target
        on target.stream = retraction.stream and target.version = retraction.retracts
    where retraction.type = 'EventRetracted'
        and retraction.recorded_at <= (select known_at from moment)
),

restatements as (
    select experiment, learning as evidence, position, recorded_at
    from stg_learnings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

-- only the first restatement after the decision can be the earliest revision: the decisions
-- citing a key and the restatements of that key in one list by position, where each
-- decision's next restatement is the least restatement position after it (an asof join
-- here was planned by DuckDB 1.4 as a loop over every decision and restatement of the log:
-- 141 s at 1M events)
restated as (
    select experiment, decision, position, evidence, revised_position
    from (
        select
            experiment,
            decision,
            position,
            evidence,
            is_cited,
            min(case when not is_cited then position end) over (
                partition by experiment, evidence
                order by position
                rows between 1 following and unbounded following
            ) as revised_position
        from (
            select experiment, decision, position, evidence, true as is_cited
            from cited
            union all
            select experiment, null as decision, position, evidence, false as is_cited
            from restatements
        )
    )
    where is_cited and revised_position is not null
),

revisions as (
    select cited.*, 'retracted' as revision, retractions.position as revised_position,
        retractions.recorded_at as revised_at
    from cited
    join retractions
        on retractions.experiment = cited.experiment
        and retractions.evidence = cited.evidence
        and retractions.target_position < cited.position
        and retractions.position > cited.position
    union all
    select restated.experiment, restated.decision, restated.position, restated.evidence,
        'restated' as revision, restated.revised_position, restatements.recorded_at as revised_at
    from restated
    join restatements on restatements.position = restated.revised_position
),

final as (
    select experiment, decision, evidence, revision, revised_at
    from revisions
    qualify row_number() over (
        partition by experiment, position, evidence order by revised_position
    ) = 1
)

select * from final
