-- projection: stg_commitments
-- grain:      one row per stored CommitmentMade
-- reads:      log_events (new_log_events: the rows of the page just added)
-- respects:   nothing here: a view keeps a row known at T (recorded_at <= T) and not retracted
--             by then (retracted_at null or > T), with no join
-- rebuilt:    incrementally, in the page's DuckDB transaction with log_events and the tracking
--             position; retracted_at is the recorded_at of the first retraction of the event
--             (retractions come later in the log: the projector updates it)
with source as (
    select *
    from new_log_events
    where type = 'CommitmentMade'
),

final as (
    select
        position,
        stream,
        version,
        experiment,
        subject as commitment,
        meetings_min,
        meetings_max,
        starts_on,
        months,
        occurred_on,
        recorded_at,
        null::timestamptz as retracted_at
    from source
)

select * from final
