-- projection: predictions
-- grain:      one row per counted PredictionMade
-- reads:      counted_events (PredictionMade, PredictionResolved, MilestoneReached,
--             MilestoneAbandoned), moment
-- respects:   as_of and known_at. Outcome (CONTRACT 6.8, 6.11): a counted resolution wins;
--             else, for a prediction about a milestone, true when its first counted
--             MilestoneReached is dated on or before resolves_on, false when a counted
--             MilestoneAbandoned is, false when resolves_on < D; else null.
--             made_before_outcome compares log positions with the deciding event, or, when the
--             deadline decided, recorded_at with resolves_on + 1 day at 00:00 UTC.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with made as (
    select
        experiment,
        payload ->> '$.prediction' as prediction,
        (payload ->> '$.probability')::double as probability,
        occurred_on as made_on,
        recorded_at,
        (payload ->> '$.resolves_on')::date as resolves_on,
        payload ->> '$.milestone' as milestone,
        payload ->> '$.statement' as statement,
        position
    from counted_events
    where type = 'PredictionMade'
),

resolutions as (
    select
        experiment,
        payload ->> '$.prediction' as prediction,
        (payload ->> '$.outcome') = 'true' as outcome,
        occurred_on,
        position
    from counted_events
    where type = 'PredictionResolved'
    qualify row_number() over (
        partition by experiment, payload ->> '$.prediction' order by occurred_on, version
    ) = 1
),

-- the first counted reach and the first counted abandonment of each milestone
milestone_ends as (
    select experiment, subject as milestone, type, occurred_on, position
    from counted_events
    where type in ('MilestoneReached', 'MilestoneAbandoned')
    qualify row_number() over (
        partition by experiment, subject, type order by occurred_on, version
    ) = 1
),

deciding as (
    select
        made.*,
        case
            when resolutions.position is not null then 'resolution'
            when reached.occurred_on <= made.resolves_on then 'reached'
            when abandoned.occurred_on <= made.resolves_on then 'abandoned'
            when made.milestone is not null
                and made.resolves_on < (select as_of from moment) then 'deadline'
        end as decided_by,
        resolutions.outcome as resolution_outcome,
        resolutions.occurred_on as resolution_on,
        resolutions.position as resolution_position,
        reached.occurred_on as reached_on,
        reached.position as reached_position,
        abandoned.occurred_on as abandoned_on,
        abandoned.position as abandoned_position
    from made
    left join resolutions using (experiment, prediction)
    left join milestone_ends as reached
        on reached.experiment = made.experiment and reached.milestone = made.milestone
        and reached.type = 'MilestoneReached'
    left join milestone_ends as abandoned
        on abandoned.experiment = made.experiment and abandoned.milestone = made.milestone
        and abandoned.type = 'MilestoneAbandoned'
),

outcomes as (
    select
        *,
        case decided_by
            when 'resolution' then resolution_outcome
            when 'reached' then true
            when 'abandoned' then false
            when 'deadline' then false
        end as outcome,
        case decided_by
            when 'resolution' then resolution_on
            when 'reached' then reached_on
            when 'abandoned' then abandoned_on
            when 'deadline' then resolves_on
        end as resolved_on,
        case decided_by
            when 'resolution' then position < resolution_position
            when 'reached' then position < reached_position
            when 'abandoned' then position < abandoned_position
            when 'deadline' then
                timezone('UTC', recorded_at) < (resolves_on + 1)::timestamp
        end as made_before_outcome
    from deciding
),

final as (
    select
        experiment,
        prediction,
        probability,
        made_on,
        recorded_at,
        resolves_on,
        outcome,
        resolved_on,
        (probability - outcome::integer) * (probability - outcome::integer) as brier,
        made_before_outcome,
        milestone,
        statement,
        -- the log positions that prove the order: the prediction and the deciding event
        position as made_position,
        case decided_by
            when 'resolution' then resolution_position
            when 'reached' then reached_position
            when 'abandoned' then abandoned_position
        end as deciding_position
    from outcomes
)

select * from final
