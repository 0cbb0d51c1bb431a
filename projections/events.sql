-- projection: events
-- grain:      one row per stored event known at T that occurred on or before D, retractions
--             included; is_retracted says whether a retraction known at T withdrew it
-- reads:      log_events, moment
-- respects:   as_of and known_at
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
-- (log_events is read twice, not through one CTE: DuckDB keeps a CTE read twice in memory,
-- every column of every event)
with known as (
    select log_events.*
    from log_events
    where recorded_at <= (select known_at from moment)
),

retracted as (
    select distinct stream, retracts as version
    from log_events
    where type = 'EventRetracted' and recorded_at <= (select known_at from moment)
),

proposals as (
    select stream, programme
    from log_events
    where type = 'ExperimentProposed'
),

final as (
    select
        known.position,
        known.stream,
        known.version,
        known.type,
        coalesce(known.programme, proposals.programme) as programme,
        known.experiment,
        known.occurred_on,
        known.precision,
        known.occurred_until,
        known.occurred_until <= (select as_of from moment) as is_certain,
        known.basis,
        known.recorded_at,
        known.recorded_by,
        known.source,
        known.payload,
        retracted.version is not null as is_retracted
    from known
    left join retracted using (stream, version)
    left join proposals on proposals.stream = known.stream
    where known.occurred_on <= (select as_of from moment)
)

select * from final
