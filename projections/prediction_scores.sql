-- projection: prediction_scores
-- grain:      one row per experiment with at least one row in predictions
-- reads:      predictions
-- respects:   as_of and known_at (through predictions); brier_mean is the mean Brier score
--             of the resolved predictions, rounded to 3 decimals halves away from zero
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select
        experiment,
        count(*) as predictions,
        count(outcome) as resolved,
        round(avg(brier), 3) as brier_mean
    from predictions
    group by experiment
)

select * from final
