-- projection: programme_summary
-- grain:      one row per programme with experiments, plus one row '(all)' for the network
-- reads:      experiments, experiment_coverage, commitment_cadence, milestones
-- respects:   as_of and known_at (through the tables it reads)
-- rebuilt:    a view, replaced whenever this file changes; nothing to catch up
with experiment_rows as (
    select e.programme, e.experiment, e.status, c.coverage_ratio
    from experiments as e left join experiment_coverage as c using (experiment)
),
periods as (
    select e.programme, k.status
    from commitment_cadence as k join experiments as e using (experiment)
),
planned as (
    select e.programme, m.status
    from milestones as m join experiments as e using (experiment)
),
by_programme as (
    select
        coalesce(programme, '(all)') as programme,
        count(*) as experiments,
        count(*) filter (where status = 'proposed') as proposed,
        count(*) filter (where status = 'retained') as retained,
        count(*) filter (where status = 'not_retained') as not_retained,
        count(*) filter (where status = 'paused') as paused,
        count(*) filter (where status = 'closed') as closed,
        count(*) filter (where coverage_ratio = 0) as coverage_none,
        count(*) filter (where coverage_ratio > 0 and coverage_ratio < 1) as coverage_partial,
        count(*) filter (where coverage_ratio = 1) as coverage_full,
        grouping(programme) as is_total
    from experiment_rows
    group by grouping sets ((programme), ())
),
cadence as (
    select
        coalesce(programme, '(all)') as programme,
        count(*) filter (where status = 'below') as periods_below,
        count(*) filter (where status = 'met') as periods_met,
        count(*) filter (where status = 'above') as periods_above
    from periods
    group by grouping sets ((programme), ())
),
milestone_counts as (
    select
        coalesce(programme, '(all)') as programme,
        count(*) filter (where status = 'overdue') as milestones_overdue,
        count(*) filter (where status = 'reached') as milestones_reached
    from planned
    group by grouping sets ((programme), ())
),
final as (
    select
        p.* exclude (is_total),
        coalesce(c.periods_below, 0) as periods_below,
        coalesce(c.periods_met, 0) as periods_met,
        coalesce(c.periods_above, 0) as periods_above,
        coalesce(m.milestones_overdue, 0) as milestones_overdue,
        coalesce(m.milestones_reached, 0) as milestones_reached,
        p.is_total
    from by_programme as p
    left join cadence as c using (programme)
    left join milestone_counts as m using (programme)
)
select * exclude (is_total) from final
