-- projection: commitment_cadence
-- grain:      one row per (commitment, yearly period) that starts on or before D
-- reads:      stg_commitments, stg_meetings, moment
-- respects:   as_of and known_at. Period k starts at starts_on + 12(k-1) months and ends the
--             day before min(starts_on + 12k months, starts_on + months); month arithmetic
--             clamps to the month's end and always starts from starts_on itself. A period of
--             m months expects floor(min*m/12) to ceil(max*m/12) meetings.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with statements as (
    select experiment, commitment, meetings_min, meetings_max, starts_on, months, occurred_on,
        version
    from stg_commitments
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

latest_statements as (
    -- a commitment restated later replaces the earlier statement: the latest by
    -- (occurred_on, version), by arg_max rather than a window sorting every statement
    select
        experiment,
        commitment,
        arg_max(
            {
                'meetings_min': meetings_min, 'meetings_max': meetings_max,
                'starts_on': starts_on, 'months': months
            },
            (occurred_on, version)
        ) as stated
    from statements
    group by experiment, commitment
),

commitments as (
    select
        experiment,
        commitment,
        stated.meetings_min as meetings_min,
        stated.meetings_max as meetings_max,
        stated.starts_on as starts_on,
        stated.months as months
    from latest_statements
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

period_years as (
    -- each started period under every calendar year it touches, so that a meeting is compared
    -- with the periods of its own year only, not with every period of its experiment
    select periods.*, unnest(range(year(period_start), year(period_end) + 1)) as year
    from periods
    where period_start <= (select as_of from moment)
),

meetings as (
    select experiment, occurred_on, year(occurred_on) as year
    from stg_meetings
    where recorded_at <= (select known_at from moment)
        and (retracted_at is null or retracted_at > (select known_at from moment))
        and occurred_on <= (select as_of from moment)
),

counted_periods as (
    select
        period_years.experiment,
        period_years.commitment,
        period_years.period,
        period_years.period_start,
        period_years.period_end,
        -- a meeting has one year: it is counted once per period
        count(meetings.occurred_on) as meetings_held,
        (period_years.meetings_min * period_years.period_months) // 12 as expected_min,
        (period_years.meetings_max * period_years.period_months + 11) // 12 as expected_max
    from period_years
    left join meetings
        on meetings.experiment = period_years.experiment
        and meetings.year = period_years.year
        and meetings.occurred_on between period_years.period_start and period_years.period_end
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
