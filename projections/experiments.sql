-- projection: experiments
-- grain:      one row per experiment whose ExperimentProposed counts
-- reads:      stg_experiments, stg_decisions, moment, decision_statuses (a table the
--             projector makes from the domain's STATUS_BY_DECISION: the status each decision
--             kind sets)
-- respects:   as_of and known_at: a staging row counts when occurred_on <= D, recorded_at <= T
--             and it is not retracted at T (retracted_at null or after T)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with experiment_events as (
    select type, experiment, programme, title, scale, territory, carriers, occurred_on, version
    from stg_experiments
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_decisions as (
    select experiment, kind, occurred_on, version
    from stg_decisions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

proposals as (
    select experiment, programme, title, scale, territory, carriers
    from experiment_events
    where type = 'ExperimentProposed'
),

status_changes as (
    select experiment, 'closed' as status, occurred_on, version
    from experiment_events
    where type = 'ExperimentClosed'
    union all
    select
        counted_decisions.experiment,
        decision_statuses.status,
        counted_decisions.occurred_on,
        counted_decisions.version
    from counted_decisions
    join decision_statuses using (kind)
    where decision_statuses.status is not null
),

latest_status as (
    -- the latest change by (occurred_on, version): arg_max, not a window sorting them all
    select experiment, arg_max(status, (occurred_on, version)) as status
    from status_changes
    group by experiment
),

final as (
    select
        proposals.experiment,
        proposals.programme,
        proposals.title,
        proposals.scale,
        proposals.territory,
        proposals.carriers,
        coalesce(latest_status.status, 'proposed') as status
    from proposals
    left join latest_status using (experiment)
)

select * from final
