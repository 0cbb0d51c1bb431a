-- projection: partners
-- grain:      one row per (programme, partner) whose PartnerJoined counts
-- reads:      counted_events (PartnerJoined, PartnerLeft)
-- respects:   as_of and known_at; is_active: joined on or before D and not left on or
--             before D
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with joins as (
    select
        programme,
        subject as partner,
        arg_max(title, (occurred_on, version)) as name,
        arg_max(kind, (occurred_on, version)) as kind,
        min(occurred_on) as joined_on
    from counted_events
    where type = 'PartnerJoined'
    group by programme, subject
),

departures as (
    select programme, subject as partner, max(occurred_on) as left_on
    from counted_events
    where type = 'PartnerLeft'
    group by programme, subject
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
