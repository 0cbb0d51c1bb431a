-- projection: log_events
-- grain:      one row per stored event, retractions included, whatever D and T
-- reads:      batch (one page of the event store: position, stream, version, state)
-- rebuilt:    incrementally; each page is inserted with the new tracking position in ONE
--             DuckDB transaction, so a crash never loses or doubles a row. Every other
--             projection is a view over this table that applies as_of and known_at. Each
--             event's JSON is parsed once, into a struct (json_transform), for speed.
with parsed as (
    select
        position,
        stream,
        version,
        state,
        json_transform(state, '{
            "type": "VARCHAR", "programme": "VARCHAR", "experiment": "VARCHAR",
            "occurred_on": "DATE", "precision": "VARCHAR", "recorded_at": "TIMESTAMPTZ",
            "recorded_by": "VARCHAR", "source": "VARCHAR", "retracts": "INTEGER",
            "review": "VARCHAR", "decision": "VARCHAR", "commitment": "VARCHAR",
            "milestone": "VARCHAR", "learning": "VARCHAR", "partner": "VARCHAR",
            "gathering": "VARCHAR", "function": "VARCHAR", "kind": "VARCHAR",
            "title": "VARCHAR", "name": "VARCHAR", "scale": "VARCHAR", "territory": "VARCHAR",
            "carriers": ["VARCHAR"], "evidence": "JSON", "session": "INTEGER",
            "sessions_planned": "INTEGER", "attendees": "INTEGER", "strength": "INTEGER",
            "meetings_per_year_min": "INTEGER", "meetings_per_year_max": "INTEGER",
            "months": "INTEGER", "starts_on": "DATE", "due_on": "DATE", "basis": "VARCHAR",
            "result": "VARCHAR",
            "functions": [{"key": "VARCHAR", "label": "VARCHAR", "label_fr": "VARCHAR"}]
        }') as e
    from batch
),

final as (
    select
        position,
        stream,
        version::integer as version,
        e.type,
        e.programme,
        e.experiment,
        e.occurred_on,
        e.precision,
        -- the last day of the event's calendar period (CONTRACT 6.2, 6.11)
        case e.precision
            when 'month' then last_day(e.occurred_on)
            when 'quarter' then last_day(date_trunc('quarter', e.occurred_on) + interval 2 month)
            when 'semester' then last_day(
                make_date(
                    year(e.occurred_on), case when month(e.occurred_on) <= 6 then 6 else 12 end, 1
                )
            )
            when 'year' then make_date(year(e.occurred_on), 12, 31)
            else e.occurred_on
        end as occurred_until,
        coalesce(e.basis, 'stated') as basis,
        e.recorded_at,
        e.recorded_by,
        e.source,
        state::json as payload,
        e.retracts,
        -- the key an event is about: its review, decision, commitment, milestone, learning,
        -- partner, gathering or function
        coalesce(
            e.review, e.decision, e.commitment, e.milestone, e.learning, e.partner, e.gathering,
            e.function
        ) as subject,
        e.kind,
        e.result,
        coalesce(e.title, e.name) as title,
        e.scale,
        e.territory,
        e.carriers,
        -- a decision's evidence is a list of keys; a function's evidence is text
        case when e.type = 'DecisionRecorded' then e.evidence::varchar[] end as evidence_keys,
        e.session,
        e.sessions_planned,
        e.attendees,
        e.strength,
        e.meetings_per_year_min as meetings_min,
        e.meetings_per_year_max as meetings_max,
        e.months,
        e.starts_on,
        e.due_on,
        e.functions
    from parsed
)

select * from final
