-- projection: learning_loops
-- grain:      one row per experiment
-- reads:      experiments, stg_learnings, stg_decisions, moment
-- respects:   as_of and known_at. A learning is its key (CONTRACT 6.11): a second
--             recording restates it, and it is dated by its first counted recording by
--             (occurred_on, version). It is actioned when a decision that occurred on or after
--             that date cites it; days_to_action counts to the first such decision.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with recordings as (
    select experiment, learning, occurred_on, version
    from stg_learnings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

first_recordings as (
    -- each learning's first recording: the least (occurred_on, version), by min on a struct
    -- rather than a window sorting every recording
    select
        experiment,
        learning,
        min({'occurred_on': occurred_on, 'version': version}) as first_recording
    from recordings
    group by experiment, learning
),

learnings as (
    select
        experiment,
        learning,
        first_recording.occurred_on as occurred_on,
        first_recording.version as version
    from first_recordings
),

decisions_taken as (
    select experiment, occurred_on, evidence
    from stg_decisions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

citations as (
    select experiment, occurred_on, unnest(evidence) as cited
    from decisions_taken
),

actions as (
    select
        learnings.experiment,
        learnings.version,
        min(citations.occurred_on - learnings.occurred_on) as days_to_action
    from learnings
    left join citations
        on citations.experiment = learnings.experiment
        and citations.cited = learnings.learning
        and citations.occurred_on >= learnings.occurred_on
    group by learnings.experiment, learnings.version
),

per_experiment as (
    select
        experiment,
        count(*) as learnings,
        count(days_to_action) as learnings_actioned,
        quantile_cont(days_to_action, 0.5) as median_days_to_action
    from actions
    group by experiment
),

cycles as (
    select experiment, count(*) as cycles
    from decisions_taken
    group by experiment
),

final as (
    select
        experiments.experiment,
        coalesce(cycles.cycles, 0) as cycles,
        coalesce(per_experiment.learnings, 0) as learnings,
        coalesce(per_experiment.learnings_actioned, 0) as learnings_actioned,
        coalesce(per_experiment.learnings, 0) - coalesce(per_experiment.learnings_actioned, 0)
            as open_loops,
        per_experiment.median_days_to_action
    from experiments
    left join cycles using (experiment)
    left join per_experiment using (experiment)
)

select * from final
