-- projection: counted_events
-- grain:      one row per event that counts: known at T, not retracted, occurred on or before D
-- reads:      known_events, moment
-- respects:   as_of and known_at (CONTRACT section 1)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select known_events.*
    from known_events
    where occurred_on <= (select as_of from moment)
)

select * from final
