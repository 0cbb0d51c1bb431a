-- projection: function_map
-- grain:      one row per (function key of the programme, function it counts for) that
--             differs from counting for itself; empty unless a read asks "what if"
-- reads:      nothing: `--framework FILE` (CONTRACT 6.9) replaces this macro for one read,
--             in a transaction that is rolled back
-- respects:   nothing to respect: it holds no fact
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select null::varchar as source_function, null::varchar as function
    where false
)

select * from final
