-- projection: moment
-- grain:      one row: the valid date D and the transaction time T every table answers for
-- reads:      the parameters of the macro every .sql file becomes: requested_as_of (DATE) and
--             requested_known_at (TIMESTAMPTZ), NULL meaning the default. `X_at(as_of,
--             known_at)` passes its arguments; the view `X` passes the DuckDB variables
--             as_of and known_at (set variable as_of = date '2013-06-30')
-- respects:   defaults: D = today in UTC, whatever the client's time zone; T = now
-- rebuilt:    a macro and a view, replaced whenever this file changes; nothing to catch up
with final as (
    select
        coalesce(requested_as_of::date, timezone('UTC', now())::date) as as_of,
        coalesce(requested_known_at::timestamptz, now()) as known_at
)

select * from final
