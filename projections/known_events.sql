-- projection: known_events
-- grain:      one row per event known at T and not retracted by a retraction known at T;
--             retraction events themselves are left out; valid time is not applied here
-- reads:      log_events, moment
-- respects:   known_at (a retraction counts from its own recorded_at, whatever its occurred_on)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
-- (log_events is read twice, not through one CTE: DuckDB keeps a CTE read twice in memory,
-- every column of every event, where a reader filters by type)
with retracted as (
    select stream, retracts as version
    from log_events
    where type = 'EventRetracted' and recorded_at <= (select known_at from moment)
),

final as (
    select log_events.*
    from log_events
    anti join retracted using (stream, version)
    where log_events.recorded_at <= (select known_at from moment)
        and log_events.type <> 'EventRetracted'
)

select * from final
