-- projection: review_completion
-- grain:      one row per (experiment, review)
-- reads:      counted_events (ReviewSessionHeld)
-- respects:   as_of and known_at; sessions_planned defaults to 2 and that default counts
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with sessions as (
    select experiment, subject as review, session, sessions_planned
    from counted_events
    where type = 'ReviewSessionHeld'
),

final as (
    select
        experiment,
        review,
        count(distinct session) as sessions_held,
        max(sessions_planned) as sessions_planned,
        count(distinct session) >= max(sessions_planned) as is_complete
    from sessions
    group by experiment, review
)

select * from final
