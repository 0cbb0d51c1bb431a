-- projection: experiments
-- grain:      one row per experiment whose ExperimentProposed counts
-- reads:      counted_events (ExperimentProposed, DecisionRecorded, ExperimentClosed),
--             decision_statuses (a table the projector makes from the domain's
--             STATUS_BY_DECISION: the status each decision kind sets)
-- respects:   as_of and known_at
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with proposals as (
    select experiment, programme, title, scale, territory, carriers
    from counted_events
    where type = 'ExperimentProposed'
),

status_changes as (
    select
        counted_events.experiment,
        case
            when counted_events.type = 'ExperimentClosed' then 'closed'
            else decision_statuses.status
        end as status,
        counted_events.occurred_on,
        counted_events.version
    from counted_events
    left join decision_statuses on counted_events.kind = decision_statuses.kind
    where counted_events.type = 'ExperimentClosed'
        or (counted_events.type = 'DecisionRecorded' and decision_statuses.status is not null)
),

latest_status as (
    select experiment, status
    from status_changes
    qualify row_number() over (partition by experiment order by occurred_on desc, version desc) = 1
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
