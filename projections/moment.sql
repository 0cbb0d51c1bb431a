-- projection: moment
-- grain:      one row: the valid date D and the transaction time T every view answers for
-- reads:      the DuckDB variables as_of and known_at (SET VARIABLE as_of = DATE '2013-06-30')
-- respects:   defaults: D = today (UTC), T = now
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select
        coalesce(getvariable('as_of')::date, current_date) as as_of,
        coalesce(getvariable('known_at')::timestamptz, now()) as known_at
)

select * from final
