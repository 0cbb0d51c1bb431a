-- projection: timeline
-- grain:      one row per counted experiment event (retractions never appear)
-- reads:      counted_events, moment
-- respects:   as_of and known_at; cycle k holds the events after decision k-1 up to and
--             including decision k, in (occurred_on, version) order
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with experiment_events as (
    select *
    from counted_events
    where experiment is not null
),

described as (
    select
        experiment,
        version,
        occurred_on,
        occurred_until,
        precision,
        basis,
        recorded_at,
        type,
        case type
            when 'ExperimentProposed' then concat(
                'Proposed: ', title, ' (carried by ', array_to_string(carriers, ', '), ')'
            )
            when 'ReviewSessionHeld' then concat(
                'Review ', subject, ': session ', session, ' of ', sessions_planned
            )
            when 'DecisionRecorded' then concat(
                'Decision ', subject, ' (', kind, '): ', payload ->> '$.summary'
            )
            when 'CommitmentMade' then concat(
                'Commitment ', subject, ': ', meetings_min, '-', meetings_max,
                ' meetings a year for ', months, ' months from ', starts_on
            )
            when 'MeetingHeld' then concat(
                'Meeting (', kind, coalesce(', ' || (payload ->> '$.meeting'), ''), '): ',
                case
                    when attendees is null then 'attendees not recorded'
                    when attendees = 1 then '1 attendee'
                    else attendees || ' attendees'
                end
            )
            when 'MilestonePlanned' then concat(
                'Milestone ', subject, ' planned: ', title, ', due ', due_on
            )
            when 'MilestoneRescheduled' then concat(
                'Milestone ', subject, ' rescheduled to ', due_on
            )
            when 'MilestoneReached' then concat('Milestone ', subject, ' reached')
            when 'MilestoneAbandoned' then concat('Milestone ', subject, ' abandoned')
            when 'LearningRecorded' then concat(
                'Learning ', subject, ': ', payload ->> '$.observation'
            )
            when 'FunctionEvidenced' then concat(
                'Function ', subject, ' evidenced (strength ', strength, '): ',
                payload ->> '$.evidence'
            )
            when 'FunctionAssessed' then concat(
                'Function ', subject, ' assessed: ', replace(result, '_', ' '),
                ': ' || nullif(payload ->> '$.note', '')
            )
            when 'ExperimentClosed' then concat(
                'Experiment closed', ': ' || nullif(payload ->> '$.outcome', '')
            )
            when 'PredictionMade' then concat(
                'Prediction ', payload ->> '$.prediction', ' (resolves ',
                payload ->> '$.resolves_on', '): ', payload ->> '$.statement'
            )
            when 'PredictionResolved' then concat(
                'Prediction ', payload ->> '$.prediction', ' resolved: ',
                payload ->> '$.outcome'
            )
            else type
        end as raw_summary,
        1 + coalesce(
            count(*) filter (where type = 'DecisionRecorded') over (
                partition by experiment
                order by occurred_on, version
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as cycle
    from experiment_events
),

final as (
    select
        experiment,
        version,
        occurred_on,
        recorded_at,
        type,
        -- one line, however the text was written
        trim(regexp_replace(raw_summary, '[\t\n\f\r ]+', ' ', 'g')) as summary,
        cycle,
        occurred_until,
        occurred_until <= (select as_of from moment) as is_certain,
        precision,
        basis
    from described
)

select * from final
