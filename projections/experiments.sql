-- projection: experiments
-- grain:      one row per experiment whose ExperimentProposed counts
-- reads:      counted_events (ExperimentProposed, DecisionRecorded, ExperimentClosed)
-- respects:   as_of and known_at
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with proposals as (
    select experiment, programme, title, scale, territory, carriers
    from counted_events
    where type = 'ExperimentProposed'
),

status_changes as (
    select
        experiment,
        case
            when type = 'ExperimentClosed' then 'closed'
            when kind in ('retain', 'continue') then 'retained'
            when kind = 'reject' then 'not_retained'
            when kind = 'pause' then 'paused'
            when kind = 'close' then 'closed'
        end as status,
        occurred_on,
        version
    from counted_events
    where type = 'ExperimentClosed' or (type = 'DecisionRecorded' and kind <> 'adapt')
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
