-- projection: known_events
-- grain:      one row per event known at T and not retracted by a retraction known at T;
--             retraction events themselves are left out; valid time is not applied here
-- reads:      log_events, moment
-- respects:   known_at (a retraction counts from its own recorded_at, whatever its occurred_on)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with known as (
    select log_events.*
    from log_events
    where recorded_at <= (select known_at from moment)
),

retracted as (
    select stream, retracts as version
    from known
    where type = 'EventRetracted'
),

final as (
    select known.*
    from known
    anti join retracted using (stream, version)
    where known.type <> 'EventRetracted'
)

select * from final
