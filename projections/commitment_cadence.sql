-- projection: commitment_cadence
-- grain:      one row per (commitment, yearly period) that starts on or before D
-- reads:      stg_commitments, stg_meetings, moment
-- respects:   as_of and known_at. Period k starts at starts_on + 12(k-1) months and ends the
--             day before min(starts_on + 12k months, starts_on + months); month arithmetic
--             clamps to the month's end and always starts from starts_on itself. A period of
--             m months expects floor(min*m/12) to ceil(max*m/12) meetings.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with commitments as (
    select experiment, commitment, meetings_min, meetings_max, starts_on, months
    from stg_commitments
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
    -- a commitment restated later replaces the earlier statement
    qualify row_number() over (
        partition by experiment, commitment order by occurred_on desc, version desc
    ) = 1
),

periods as (
    select
        commitments.*,
        period,
        (starts_on + to_months(12 * (period - 1)))::date as period_start,
        (least(
            starts_on + to_months(12 * period), starts_on + to_months(months)
        ) - interval 1 day)::date as period_end,
        least(12, months - 12 * (period - 1)) as period_months
    from commitments,
        range(1, (months + 11) // 12 + 1) as periods (period)
),

meetings as (
    select experiment, occurred_on
    from stg_meetings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_periods as (
    select
        periods.experiment,
        periods.commitment,
        periods.period,
        periods.period_start,
        periods.period_end,
        count(meetings.occurred_on) as meetings_held,
        (periods.meetings_min * periods.period_months) // 12 as expected_min,
        (periods.meetings_max * periods.period_months + 11) // 12 as expected_max
    from periods
    left join meetings
        on meetings.experiment = periods.experiment
        and meetings.occurred_on between periods.period_start and periods.period_end
    where periods.period_start <= (select as_of from moment)
    group by all
),

final as (
    select
        experiment,
        commitment,
        period,
        period_start,
        period_end,
        meetings_held,
        expected_min,
        expected_max,
        case
            when meetings_held > expected_max then 'above'
            when period_end >= (select as_of from moment) then 'in_progress'
            when meetings_held >= expected_min then 'met'
            else 'below'
        end as status
    from counted_periods
)

select * from final
