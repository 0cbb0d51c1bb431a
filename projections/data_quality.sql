-- projection: data_quality
-- grain:      one row per data-quality finding at (as_of, known_at): review sessions missing,
--             commitment periods below cadence, overdue milestones, decisions citing no
--             evidence, learnings never actioned, events recorded long after they occurred
--             (lag_days: filter with `where check <> 'backfill' or lag_days > N`; audit reports
--             them once per recording batch, by recorded_on and recorded_by), and events
--             dated outside their programme's starts_on..ends_on, and decisions standing on
--             evidence revised after they were recorded (decision_revisions)
-- reads:      counted_events (backfills, dates out of range, an experiment's latest record),
--             review_completion, commitment_cadence, milestones, the staging rows counted at
--             (as_of, known_at) as the contract views count them (stg_review_sessions,
--             stg_commitments, stg_milestones, stg_decisions, stg_learnings, stg_experiments,
--             stg_programmes), log_events (a programme's payload), decision_revisions, moment,
--             period_suffixes (a table the projector makes from format_at_precision)
-- respects:   as_of and known_at
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with counted_sessions as (
    select experiment, review, version, position
    from stg_review_sessions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_commitments as (
    select experiment, commitment, version, position
    from stg_commitments
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_plans as (
    select experiment, milestone, version, position
    from stg_milestones
    where type = 'MilestonePlanned'
        and recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

-- the counted decisions, from their staging rows as the decisions view reads them (not a
-- pass over every counted event to find them)
counted_decisions as (
    select stream, version, position, experiment, decision, kind, evidence, occurred_on
    from stg_decisions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_learnings as (
    select stream, version, position, experiment, learning, occurred_on
    from stg_learnings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

-- the last counted event of each review, commitment and milestone plan, which a finding
-- about it names: from the staging rows of its type, not a pass over every counted event
last_session_of as (
    select experiment, review, max(version) as version, max(position) as position
    from counted_sessions
    where experiment is not null
    group by all
),

last_commitment_of as (
    select experiment, commitment, max(version) as version, max(position) as position
    from counted_commitments
    where experiment is not null
    group by all
),

last_plan_of as (
    select experiment, milestone, max(version) as version, max(position) as position
    from counted_plans
    where experiment is not null
    group by all
),

latest_of as (
    -- each experiment's latest counted event, its date printed at its precision (2013-S1):
    -- the year and the suffix the projector made from Python's format_at_precision
    select
        counted_events.experiment,
        max(counted_events.occurred_on) as occurred_on,
        arg_max(
            coalesce(
                year(counted_events.occurred_on)::varchar || period_suffixes.suffix,
                counted_events.occurred_on::varchar
            ),
            (counted_events.occurred_on, counted_events.version)
        ) as printed_on
    from counted_events
    left join period_suffixes
        on counted_events.precision = period_suffixes.period
        and month(counted_events.occurred_on) = period_suffixes.month
    where counted_events.experiment is not null
    group by counted_events.experiment
),

review_gaps as (
    select
        'review_sessions_missing' as check,
        'experiment:' || r.experiment as stream,
        e.version,
        e.position,
        concat('review ', r.review, ': ', r.sessions_held, ' of ', r.sessions_planned,
               ' sessions held') as message,
        null::integer as lag_days,
        null::date as occurred_on,
        null::date as recorded_on,
        null::varchar as recorded_by
    from review_completion as r
    join last_session_of as e
        on e.experiment = r.experiment and e.review = r.review
    where not r.is_complete
),

below_cadence as (
    select
        'commitment_below_cadence',
        'experiment:' || c.experiment,
        e.version,
        e.position,
        concat('commitment ', c.commitment, ', period ', c.period, ' (', c.period_start, ' to ',
               c.period_end, '): ',
               case c.meetings_held
                   when 0 then 'no meeting recorded'
                   when 1 then '1 meeting recorded'
                   else c.meetings_held || ' meetings recorded'
               end, ', at least ', c.expected_min, ' expected'),
        null::integer,
        null::date,
        null::date,
        null::varchar
    from commitment_cadence as c
    join last_commitment_of as e
        on e.experiment = c.experiment and e.commitment = c.commitment
    where c.status = 'below'
),

overdue as (
    select
        'milestone_overdue',
        'experiment:' || m.experiment,
        e.version,
        e.position,
        -- overdue, or only unrecorded: say so when nothing was recorded after the due date
        concat('milestone ', m.milestone, ' was due on ', m.due_on, ': ', m.days_late,
               ' days late',
               case when latest.occurred_on <= m.due_on
                   then concat(' (no record of the experiment since ', latest.printed_on, ')')
                   else ''
               end),
        null::integer,
        null::date,
        null::date,
        null::varchar
    from milestones as m
    join last_plan_of as e
        on e.experiment = m.experiment and e.milestone = m.milestone
    join latest_of as latest on latest.experiment = m.experiment
    where m.status = 'overdue'
),

unsupported_decisions as (
    select
        'decision_without_evidence',
        stream,
        version,
        position,
        concat('decision ', decision, ' (', kind, ') cites no learning or review'),
        null::integer,
        null::date,
        null::date,
        null::varchar
    from counted_decisions
    where len(evidence) = 0
),

-- A learning is its key (CONTRACT 6.11): judged once, from its first counted recording.
first_learnings as (
    select *
    from counted_learnings
    qualify row_number() over (
        partition by experiment, learning order by occurred_on, version
    ) = 1
),

-- The latest day each learning is cited by a decision of its experiment: a learning is
-- actioned when that day is on or after its own (one join, not a search of every decision's
-- evidence for every learning, which grew with the square of an experiment's size).
latest_citations as (
    select experiment, cited as learning, max(occurred_on) as last_cited_on
    from (
        select experiment, unnest(evidence) as cited, occurred_on
        from counted_decisions
    )
    group by all
),

never_actioned as (
    select
        'learning_never_actioned',
        learning.stream,
        learning.version,
        learning.position,
        concat('learning ', learning.learning, ' is cited by no later decision'),
        null::integer,
        null::date,
        null::date,
        null::varchar
    from first_learnings as learning
    left join latest_citations as citations
        on citations.experiment = learning.experiment
        and citations.learning = learning.learning
    where not coalesce(citations.last_cited_on >= learning.occurred_on, false)
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
        timezone('UTC', recorded_at)::date - occurred_on,
        occurred_on,
        timezone('UTC', recorded_at)::date,
        recorded_by
    from counted_events
),

-- each counted programme's dates, from its stored event's payload: the counted openings are
-- found in stg_programmes, not in counted_events, whose second read here made DuckDB keep every
-- counted event, payload and all, to share between the two (70 s of CPU at 10M events)
programme_ranges as (
    select
        programmes.programme,
        (opened.payload ->> '$.starts_on')::date as starts_on,
        (opened.payload ->> '$.ends_on')::date as ends_on
    from log_events as opened
    join stg_programmes as programmes on programmes.position = opened.position
    where opened.type = 'ProgrammeOpened'
        and programmes.recorded_at <= (select known_at from moment)
        and (programmes.retracted_at is null
            or programmes.retracted_at > (select known_at from moment))
        and programmes.occurred_on <= (select as_of from moment)
),

-- each counted experiment's programme, as the experiments view has it (its counted
-- proposal), without the statuses that view works out for every experiment
proposed_in as (
    select experiment, programme
    from stg_experiments
    where type = 'ExperimentProposed'
        and recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
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
        null::integer,
        null::date,
        null::date,
        null::varchar
    from counted_events as e
    left join proposed_in as x on x.experiment = e.experiment
    join programme_ranges as r on r.programme = coalesce(e.programme, x.programme)
    where e.occurred_on < r.starts_on or e.occurred_on > r.ends_on
),

revised_evidence as (
    select
        'decision_on_revised_evidence',
        decision.stream,
        decision.version,
        decision.position,
        concat('decision ', r.decision, ' stands on ', r.evidence, ', ', r.revision, ' on ',
               timezone('UTC', r.revised_at)::date, ', after the decision was recorded'),
        null::integer,
        null::date,
        null::date,
        null::varchar
    from decision_revisions as r
    join counted_decisions as decision
        on decision.experiment = r.experiment
        and decision.decision = r.decision
),

final as (
    select * from review_gaps
    union all select * from below_cadence
    union all select * from overdue
    union all select * from unsupported_decisions
    union all select * from never_actioned
    union all select * from backfill
    union all select * from out_of_range
    union all select * from revised_evidence
)

select * from final
