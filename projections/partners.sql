-- projection: partners
-- grain:      one row per (programme, partner) whose PartnerJoined counts
-- reads:      counted_events (PartnerJoined, PartnerLeft)
-- respects:   as_of and known_at; is_active: joined on or before D and not left on or
--             before D
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
-- one pass over the counted events for both types: DuckDB 1.4 ran the known events'
-- anti join over the whole log once for each reading (5 s at 1M events, 0.4 s in 2.0)
with partner_events as (
    select programme, subject as partner, type, title, kind, occurred_on, version
    from counted_events
    where type in ('PartnerJoined', 'PartnerLeft')
),

joins as (
    select
        programme,
        partner,
        arg_max(title, (occurred_on, version)) as name,
        arg_max(kind, (occurred_on, version)) as kind,
        min(occurred_on) as joined_on
    from partner_events
    where type = 'PartnerJoined'
    group by programme, partner
),

departures as (
    select programme, partner, max(occurred_on) as left_on
    from partner_events
    where type = 'PartnerLeft'
    group by programme, partner
),

final as (
    select
        joins.programme,
        joins.partner,
        joins.name,
        joins.kind,
        joins.joined_on,
        departures.left_on,
        departures.left_on is null as is_active
    from joins
    left join departures using (programme, partner)
)

select * from final
