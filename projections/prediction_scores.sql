-- projection: prediction_scores
-- grain:      one row per experiment with at least one row in predictions
-- reads:      predictions
-- respects:   as_of and known_at (through predictions); brier_mean is the mean Brier score
--             of the resolved predictions, rounded to 3 decimals halves away from zero: as a
--             decimal of 15 places first, so a half that binary floating point stores a hair
--             below (0.35² = 0.1225 is 0.12249999999999998) still rounds away from zero
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with final as (
    select
        experiment,
        count(*) as predictions,
        count(outcome) as resolved,
        round(avg(brier)::decimal(38, 15), 3)::double as brier_mean
    from predictions
    group by experiment
)

select * from final
