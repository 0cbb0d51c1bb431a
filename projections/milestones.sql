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

plans as (
    select experiment, milestone, title
    from milestone_events
    where type = 'MilestonePlanned'
    qualify row_number() over (
        partition by experiment, milestone order by occurred_on desc, version desc
    ) = 1
),

due_dates as (
    select experiment, milestone, due_on
    from milestone_events
    where type in ('MilestonePlanned', 'MilestoneRescheduled')
    qualify row_number() over (
        partition by experiment, milestone order by occurred_on desc, version desc
    ) = 1
),

outcomes as (
    select experiment, milestone, type as outcome, occurred_on as outcome_on
    from milestone_events
    where type in ('MilestoneReached', 'MilestoneAbandoned')
    qualify row_number() over (
        partition by experiment, milestone order by occurred_on desc, version desc
    ) = 1
),

statuses as (
    select
        plans.experiment,
        plans.milestone,
        plans.title,
        due_dates.due_on,
        case when outcomes.outcome = 'MilestoneReached' then outcomes.outcome_on end
            as reached_on,
        case
            when outcomes.outcome = 'MilestoneReached' then 'reached'
            when outcomes.outcome = 'MilestoneAbandoned' then 'abandoned'
            when due_dates.due_on < (select as_of from moment) then 'overdue'
            else 'pending'
        end as status
    from plans
    join due_dates using (experiment, milestone)
    left join outcomes using (experiment, milestone)
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
