-- projection: data_quality
-- grain:      one row per data-quality finding at (as_of, known_at): review sessions missing,
--             commitment periods below cadence, overdue milestones, decisions citing no
--             evidence, learnings never actioned, events recorded long after they occurred
--             (lag_days: filter with `where check <> 'backfill' or lag_days > N`), and events
--             dated outside their programme's starts_on..ends_on
-- reads:      counted_events, review_completion, commitment_cadence, milestones, decisions,
--             experiments, moment
-- respects:   as_of and known_at
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with last_event_of as (
    select experiment, type, subject, max(version) as version, max(position) as position
    from counted_events
    where experiment is not null
    group by all
),

review_gaps as (
    select
        'review_sessions_missing' as check,
        'experiment:' || r.experiment as stream,
        e.version,
        e.position,
        concat('review ', r.review, ': ', r.sessions_held, ' of ', r.sessions_planned,
               ' sessions held') as message,
        null::integer as lag_days
    from review_completion as r
    join last_event_of as e
        on e.experiment = r.experiment and e.type = 'ReviewSessionHeld' and e.subject = r.review
    where not r.is_complete
),

below_cadence as (
    select
        'commitment_below_cadence',
        'experiment:' || c.experiment,
        e.version,
        e.position,
        concat('commitment ', c.commitment, ', period ', c.period, ' (', c.period_start, ' to ',
               c.period_end, '): ', c.meetings_held, ' meetings held, at least ',
               c.expected_min, ' expected'),
        null::integer
    from commitment_cadence as c
    join last_event_of as e
        on e.experiment = c.experiment and e.type = 'CommitmentMade' and e.subject = c.commitment
    where c.status = 'below'
),

overdue as (
    select
        'milestone_overdue',
        'experiment:' || m.experiment,
        e.version,
        e.position,
        concat('milestone ', m.milestone, ' was due on ', m.due_on, ': ', m.days_late,
               ' days late'),
        null::integer
    from milestones as m
    join last_event_of as e
        on e.experiment = m.experiment and e.type = 'MilestonePlanned' and e.subject = m.milestone
    where m.status = 'overdue'
),

unsupported_decisions as (
    select
        'decision_without_evidence',
        stream,
        version,
        position,
        concat('decision ', subject, ' (', kind, ') cites no learning or review'),
        null::integer
    from counted_events
    where type = 'DecisionRecorded' and len(coalesce(evidence_keys, [])) = 0
),

never_actioned as (
    select
        'learning_never_actioned',
        learning.stream,
        learning.version,
        learning.position,
        concat('learning ', learning.subject, ' is cited by no later decision'),
        null::integer
    from counted_events as learning
    where learning.type = 'LearningRecorded'
        and not exists (
            select 1
            from counted_events as decision
            where decision.type = 'DecisionRecorded'
                and decision.experiment = learning.experiment
                and decision.occurred_on >= learning.occurred_on
                and list_contains(decision.evidence_keys, learning.subject)
        )
),

backfill as (
    select
        'backfill',
        stream,
        version,
        position,
        concat(type, ' that occurred on ', occurred_on, ' was recorded on ',
               timezone('UTC', recorded_at)::date,
               ', ', timezone('UTC', recorded_at)::date - occurred_on, ' days later'),
        timezone('UTC', recorded_at)::date - occurred_on
    from counted_events
),

programme_ranges as (
    select
        programme,
        (payload ->> '$.starts_on')::date as starts_on,
        (payload ->> '$.ends_on')::date as ends_on
    from counted_events
    where type = 'ProgrammeOpened'
),

out_of_range as (
    select
        'date_out_of_programme_range',
        e.stream,
        e.version,
        e.position,
        concat(e.type, ' occurred on ', e.occurred_on, ', outside programme ', r.programme,
               ' (', coalesce(r.starts_on::varchar, '…'), ' to ',
               coalesce(r.ends_on::varchar, '…'), ')'),
        null::integer
    from counted_events as e
    left join experiments as x on x.experiment = e.experiment
    join programme_ranges as r on r.programme = coalesce(e.programme, x.programme)
    where e.occurred_on < r.starts_on or e.occurred_on > r.ends_on
),

final as (
    select * from review_gaps
    union all select * from below_cadence
    union all select * from overdue
    union all select * from unsupported_decisions
    union all select * from never_actioned
    union all select * from backfill
    union all select * from out_of_range
)

select * from final
