-- projection: log_events
-- grain:      one row per stored event, retractions included, whatever D and T
-- reads:      batch (one page of the event store: position, stream, version, topic, state)
-- rebuilt:    incrementally; each page is inserted with the new tracking position in ONE
--             DuckDB transaction, so a crash never loses or doubles a row. Every other
--             projection is a view over this table that applies as_of and known_at.
with stored as (
    select
        position,
        stream,
        version,
        state::json as j
    from batch
),

final as (
    select
        position,
        stream,
        version::integer as version,
        j ->> '$.type' as type,
        j ->> '$.programme' as programme,
        j ->> '$.experiment' as experiment,
        (j ->> '$.occurred_on')::date as occurred_on,
        j ->> '$.precision' as precision,
        (j ->> '$.recorded_at')::timestamptz as recorded_at,
        j ->> '$.recorded_by' as recorded_by,
        j ->> '$.source' as source,
        j as payload,
        (j ->> '$.retracts')::integer as retracts,
        -- the key an event is about: its review, decision, commitment, milestone, learning,
        -- partner, gathering or function
        coalesce(
            j ->> '$.review',
            j ->> '$.decision',
            j ->> '$.commitment',
            j ->> '$.milestone',
            j ->> '$.learning',
            j ->> '$.partner',
            j ->> '$.gathering',
            j ->> '$.function'
        ) as subject,
        j ->> '$.kind' as kind,
        coalesce(j ->> '$.title', j ->> '$.name') as title,
        j ->> '$.scale' as scale,
        j ->> '$.territory' as territory,
        (j -> '$.carriers')::varchar[] as carriers,
        -- a decision's evidence is a list of keys; a function's evidence is text
        case when j ->> '$.type' = 'DecisionRecorded' then (j -> '$.evidence')::varchar[] end
            as evidence_keys,
        (j ->> '$.session')::integer as session,
        (j ->> '$.sessions_planned')::integer as sessions_planned,
        (j ->> '$.attendees')::integer as attendees,
        (j ->> '$.strength')::integer as strength,
        (j ->> '$.meetings_per_year_min')::integer as meetings_min,
        (j ->> '$.meetings_per_year_max')::integer as meetings_max,
        (j ->> '$.months')::integer as months,
        (j ->> '$.starts_on')::date as starts_on,
        (j ->> '$.due_on')::date as due_on,
        json_transform(
            j -> '$.functions', '[{"key": "VARCHAR", "label": "VARCHAR", "label_fr": "VARCHAR"}]'
        ) as functions
    from stored
)

select * from final
