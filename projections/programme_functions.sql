-- projection: programme_functions
-- grain:      one row per (programme, function of its framework), in framework order
-- reads:      stg_programmes, moment
-- respects:   known_at only: a programme's framework is structural, not dated
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with opened as (
    select programme, functions
    from stg_programmes
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
),

final as (
    select
        programme,
        unnest(functions).key as function,
        unnest(functions).label as label,
        unnest(functions).label_fr as label_fr,
        generate_subscripts(functions, 1) as ordinal
    from opened
)

select * from final
