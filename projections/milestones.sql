-- projection: milestones
-- grain:      one row per (experiment, milestone) with a counted plan
-- reads:      stg_milestones (MilestonePlanned, MilestoneRescheduled, MilestoneReached,
--             MilestoneAbandoned), moment
-- respects:   as_of and known_at; "latest" is by (occurred_on, version)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with milestone_events as (
    select type, experiment, milestone, title, due_on, occurred_on, version
    from stg_milestones
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

latest as (
    -- per milestone, the latest counted plan, due date and outcome by (occurred_on, version):
    -- one aggregation, where three row_number windows each sorted the events
    select
        experiment,
        milestone,
        count(*) filter (where type = 'MilestonePlanned') as plans,
        arg_max(title, (occurred_on, version)) filter (where type = 'MilestonePlanned')
            as title,
        arg_max(due_on, (occurred_on, version))
            filter (where type in ('MilestonePlanned', 'MilestoneRescheduled')) as due_on,
        -- the outcome's kind and date come from the same event: one struct
        arg_max({'type': type, 'occurred_on': occurred_on}, (occurred_on, version))
            filter (where type in ('MilestoneReached', 'MilestoneAbandoned')) as last_outcome
    from milestone_events
    group by experiment, milestone
),

statuses as (
    select
        experiment,
        milestone,
        title,
        due_on,
        case when last_outcome.type = 'MilestoneReached' then last_outcome.occurred_on end
            as reached_on,
        case
            when last_outcome.type = 'MilestoneReached' then 'reached'
            when last_outcome.type = 'MilestoneAbandoned' then 'abandoned'
            when due_on < (select as_of from moment) then 'overdue'
            else 'pending'
        end as status
    from latest
    -- a milestone is listed once planned; only then is its due date known
    where plans > 0
),

final as (
    select
        *,
        case status
            when 'reached' then greatest(0, reached_on - due_on)
            when 'overdue' then (select as_of from moment) - due_on
            else 0
        end as days_late
    from statuses
)

select * from final
