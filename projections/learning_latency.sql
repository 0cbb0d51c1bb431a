-- projection: learning_latency
-- grain:      one row per row of experiments
-- reads:      experiments, counted_events, learning_loops
-- respects:   as_of and known_at. Over the experiment's timeline rows (counted events,
--             retractions excluded): delay = the UTC date of recorded_at minus occurred_until
--             (the last day of the event's period), negative allowed; p90 = the delay at rank
--             ceil(0.9 n) sorted ascending. median_cycle_days: gaps between consecutive counted
--             decisions by (occurred_on, version), null with fewer than two.
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with timeline_events as (
    select
        experiment,
        type,
        occurred_on,
        version,
        timezone('UTC', recorded_at)::date - occurred_until as delay
    from counted_events
    where experiment is not null
),

delays as (
    select
        experiment,
        count(*) as events,
        quantile_cont(delay, 0.5) as reporting_delay_median_days,
        list_sort(list(delay))[(9 * count(*) + 9) // 10] as reporting_delay_p90_days
    from timeline_events
    group by experiment
),

decision_gaps as (
    select
        experiment,
        occurred_on - lag(occurred_on) over (
            partition by experiment order by occurred_on, version
        ) as gap
    from timeline_events
    where type = 'DecisionRecorded'
),

cycles as (
    select experiment, quantile_cont(gap, 0.5) as median_cycle_days
    from decision_gaps
    group by experiment
),

final as (
    select
        experiments.experiment,
        coalesce(delays.events, 0) as events,
        delays.reporting_delay_median_days,
        delays.reporting_delay_p90_days,
        cycles.median_cycle_days,
        learning_loops.median_days_to_action
    from experiments
    left join delays using (experiment)
    left join cycles using (experiment)
    left join learning_loops using (experiment)
)

select * from final
