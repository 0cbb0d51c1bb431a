-- projection: milestones
-- grain:      one row per (experiment, milestone) with a counted plan
-- reads:      counted_events (MilestonePlanned, MilestoneRescheduled, MilestoneReached,
--             MilestoneAbandoned), moment
-- respects:   as_of and known_at; "latest" is by (occurred_on, version)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with plans as (
    select experiment, subject as milestone, title
    from counted_events
    where type = 'MilestonePlanned'
    qualify row_number() over (
        partition by experiment, subject order by occurred_on desc, version desc
    ) = 1
),

due_dates as (
    select experiment, subject as milestone, due_on
    from counted_events
    where type in ('MilestonePlanned', 'MilestoneRescheduled')
    qualify row_number() over (
        partition by experiment, subject order by occurred_on desc, version desc
    ) = 1
),

outcomes as (
    select experiment, subject as milestone, type as outcome, occurred_on as outcome_on
    from counted_events
    where type in ('MilestoneReached', 'MilestoneAbandoned')
    qualify row_number() over (
        partition by experiment, subject order by occurred_on desc, version desc
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
