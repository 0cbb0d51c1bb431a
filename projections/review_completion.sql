-- projection: review_completion
-- grain:      one row per (experiment, review)
-- reads:      stg_review_sessions, moment
-- respects:   as_of and known_at; sessions_planned defaults to 2 and that default counts
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with sessions as (
    select experiment, review, session, sessions_planned
    from stg_review_sessions
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

held as (
    -- one row per session held: counting distinct sessions then needs no DISTINCT aggregate
    select experiment, review, session, max(sessions_planned) as sessions_planned
    from sessions
    group by experiment, review, session
),

final as (
    select
        experiment,
        review,
        count(session) as sessions_held,
        max(sessions_planned) as sessions_planned,
        count(session) >= max(sessions_planned) as is_complete
    from held
    group by experiment, review
)

select * from final
