"""The report's words in each language: headings and notes, values a reader sees, and one
line per event kind (the SQL summary is English only)."""

from __future__ import annotations

from learningloop.domain.events import DEFAULT_FUNCTIONS

TEXT = {
    "en": {
        "title": "Learning report",
        "programmes_title": "{n:,} programmes",
        "overview": "Programme overview",
        "partners": "Partners over time",
        "active": "active partners",
        "experiments": "Experiments and their status",
        "coverage": "Coverage of the five key functions",
        "timelines": "Learning timelines",
        "cycle": "cycle",
        "open": "open",
        "cadence": "Cadence against commitments",
        "meetings": "meetings",
        "milestones": "Milestones: planned and reached",
        "evidence": "evidence",
        "retracted": "retracted",
        "as_of": "As of",
        "known_at": "as known at",
        "digest": "Log head digest",
        "versions": "Projection versions",
        "none": "None yet.",
        "experiment": "experiment",
        "status": "status",
        "scale": "scale",
        "territory": "territory",
        "carriers": "carriers",
        "due": "due",
        "reached": "reached",
        "days_late": "days late",
        "review": "review",
        "decision": "decision",
        "meeting": "meeting",
        "milestone": "milestone",
        "learning": "learning",
        "other": "other",
        "period": "period",
        "held": "held",
        "expected": "expected",
        "programme": "Programme",
        "axes": "Axes of work",
        "partners_count": "Partners recorded: {recorded} (the sources state {stated}).",
        "partners_count_only": "Partners recorded: {recorded}.",
        "sources": "Sources quoted ({n})",
        "facts": "Facts on record: {stated} stated, {inferred} inferred, {illustrative} "
                 "illustrative — inferred facts are the recorder's reading of the sources, "
                 "illustrative ones are examples.",
        "evidence_shares": "Evidence behind this table: {stated} stated, {inferred} inferred, "
                           "{illustrative} illustrative (of {total}).",
        "uncertain": "{n} events are not yet certain at this date: the sources date them only to "
                     "a month, quarter, semester or year that ends later (hatched); they count "
                     "from its first day.",
        "period_only": "known only to its period",
        "stated_size": "{n} partners, as the sources state",
        "inferred": "inferred",
        "illustrative": "illustrative",
        "covered": "covered (evidence count)",
        "absent": "assessed absent",
        "not_applicable": "not applicable",
        "not_assessed": "not assessed",
        "no_meeting": "no meeting recorded",
        "no_record": "no record since {day}",
        "below": "below the band",
        "legend_basis": "Marks: (inferred) the recorder's reading; (illustrative) an example.",
        "programmes": "Programmes",
        "programme_coverage": "Coverage by programme (% of experiments covering each function)",
        "selection": "Detail below for {shown} of {total:,} experiments: {how}.",
        "most_active": "the most active ones (choose others with --experiment or --programme)",
        "chosen": "those chosen with --experiment or --programme",
        "monthly": "{events} events, counted by month",
        "month": "month",
        "framework_own": "Framework: the programme's own functions.",
        "framework_file": "Framework: what if the functions were those of {name} ({keys}); "
                          "not the programme's own.",
        "since": "What changed since {t1}",
        "new_facts": "New facts",
        "backdated": "Back-dated corrections (occurred before T1, recorded after it)",
        "retractions": "Retractions",
        "moved": "Indicators that moved",
        "more_changes": "… and {n:,} more: learningloop changes --since T1 lists every one.",
        "position": "position",
        "latency": "Learning latency",
        "reporting_delay_median_days": "median reporting delay",
        "median_cycle_days": "median cycle length",
        "days": "days (dashed: the programme's median)",
        "predictions": "Predictions: calibration and Brier score",
        "predicted": "predicted probability",
        "observed": "observed frequency",
        "brier": "mean Brier score",
        "resolved": "resolved",
        "milestones_charted": "The chart shows {shown} of the {total} milestones: the open ones "
                              "first, then the latest due. The table lists them all.",
    },
    "fr": {
        "title": "Rapport d'apprentissage",
        "programmes_title": "{n} programmes",
        "overview": "Vue d'ensemble du programme",
        "partners": "Partenaires au fil du temps",
        "active": "partenaires actifs",
        "experiments": "Expérimentations et leur statut",
        "coverage": "Couverture des cinq fonctions clés",
        "timelines": "Chronologies d'apprentissage",
        "cycle": "cycle",
        "open": "ouvert",
        "cadence": "Rythme au regard des engagements",
        "meetings": "rencontres",
        "milestones": "Jalons : prévus et atteints",
        "evidence": "éléments",
        "retracted": "retiré",
        "as_of": "Au",
        "known_at": "tel que connu le",
        "digest": "Empreinte de tête du journal",
        "versions": "Versions des projections",
        "none": "Aucun pour l'instant.",
        "experiment": "expérimentation",
        "status": "statut",
        "scale": "échelle",
        "territory": "territoire",
        "carriers": "porteurs",
        "due": "échéance",
        "reached": "atteint",
        "days_late": "jours de retard",
        "review": "revue",
        "decision": "décision",
        "meeting": "rencontre",
        "milestone": "jalon",
        "learning": "apprentissage",
        "other": "autre",
        "period": "période",
        "held": "tenues",
        "expected": "attendues",
        "programme": "Programme",
        "axes": "Axes de travail",
        "partners_count": "Partenaires enregistrés : {recorded} (les sources en annoncent "
                          "{stated}).",
        "partners_count_only": "Partenaires enregistrés : {recorded}.",
        "sources": "Sources citées ({n})",
        "facts": "Faits enregistrés : {stated} énoncés, {inferred} déduits, {illustrative} "
                 "illustratifs — un fait déduit est la lecture des sources par la personne qui "
                 "l'a saisi, un fait illustratif est un exemple.",
        "evidence_shares": "Éléments derrière ce tableau : {stated} énoncés, {inferred} déduits, "
                           "{illustrative} illustratifs (sur {total}).",
        "uncertain": "{n} événements ne sont pas encore certains à cette date : les sources ne "
                     "les datent qu'au mois, au trimestre, au semestre ou à l'année, qui finit "
                     "plus tard (hachuré) ; ils comptent dès le premier jour de cette période.",
        "period_only": "connu seulement à la période",
        "stated_size": "{n} partenaires, selon les sources",
        "inferred": "déduit",
        "illustrative": "illustratif",
        "covered": "couverte (nombre d'éléments)",
        "absent": "évaluée absente",
        "not_applicable": "sans objet",
        "not_assessed": "non évaluée",
        "no_meeting": "aucune rencontre enregistrée",
        "no_record": "rien d'enregistré depuis {day}",
        "below": "sous la fourchette",
        "legend_basis": "Marques : (déduit) lecture de la personne qui a saisi ; (illustratif) "
                        "un exemple.",
        "framework_own": "Référentiel : les fonctions du programme.",
        "framework_file": "Référentiel : et si les fonctions étaient celles de {name} ({keys}) ; "
                          "pas celles du programme.",
        "since": "Ce qui a changé depuis le {t1}",
        "new_facts": "Faits nouveaux",
        "backdated": "Corrections antidatées (survenues avant T1, enregistrées après)",
        "retractions": "Retraits",
        "moved": "Indicateurs qui ont bougé",
        "more_changes": "… et {n} de plus : learningloop changes --since T1 les donne tous.",
        "position": "position",
        "latency": "Latence de l'apprentissage",
        "reporting_delay_median_days": "délai médian d'enregistrement",
        "median_cycle_days": "durée médiane d'un cycle",
        "days": "jours (tirets : la médiane du programme)",
        "predictions": "Prédictions : calibrage et score de Brier",
        "predicted": "probabilité prédite",
        "observed": "fréquence observée",
        "brier": "score de Brier moyen",
        "resolved": "résolues",
        "programmes": "Programmes",
        "programme_coverage": "Couverture par programme (% des expérimentations couvrant "
        "chaque fonction)",
        "selection": "Détail ci-dessous pour {shown} des {total} expérimentations : {how}.",
        "most_active": "les plus actives (en choisir d'autres avec --experiment ou --programme)",
        "chosen": "celles choisies avec --experiment ou --programme",
        "monthly": "{events} événements, comptés par mois",
        "month": "mois",
        "milestones_charted": "Le graphique montre {shown} des {total} jalons : d'abord ceux "
                              "encore ouverts, puis les plus récents. Le tableau les liste tous.",
    },
}  # fmt: skip


# Every value a reader sees, in each language (statuses, scales, event kinds).
VALUES = {
    "en": {
        "proposed": "proposed", "retained": "retained", "not_retained": "not retained",
        "paused": "paused", "closed": "closed", "above": "above the band", "met": "met",
        "in_progress": "in progress", "below": "below the band", "reached": "reached",
        "abandoned": "abandoned", "overdue": "overdue", "pending": "pending",
        "employment_basin": "employment basin", "company": "company",
        "neighbourhood": "neighbourhood", "region": "region", "network": "network",
        "other": "other", "retain": "retain", "reject": "reject", "adapt": "adapt",
        "continue": "continue", "pause": "pause", "close": "close", "stakeholder": "stakeholder",
        "local": "local", "steering": "steering",
    },
    "fr": {
        "proposed": "proposée", "retained": "retenue", "not_retained": "non retenue",
        "paused": "en pause", "closed": "close", "above": "au-dessus de la fourchette",
        "met": "respecté", "in_progress": "en cours", "below": "sous la fourchette",
        "reached": "atteint", "abandoned": "abandonné", "overdue": "en retard",
        "pending": "à venir", "employment_basin": "bassin d'emploi", "company": "entreprise",
        "neighbourhood": "quartier", "region": "région", "network": "réseau", "other": "autre",
        "retain": "retenir", "reject": "ne pas retenir", "adapt": "adapter",
        "continue": "poursuivre", "pause": "suspendre", "close": "clore",
        "stakeholder": "parties prenantes", "local": "locale", "steering": "pilotage",
    },
}  # fmt: skip


# One line per event, in each language, from its payload (the SQL summary is English only).
SUMMARIES = {
    "en": {
        "ExperimentProposed": "Proposed: {title} (carried by {carriers})",
        "ReviewSessionHeld": "Review {review}: session {session} of {sessions_planned}",
        "DecisionRecorded": "Decision {decision} ({kind}): {summary}",
        "CommitmentMade": "Commitment {commitment}: {meetings_per_year_min} to "
                          "{meetings_per_year_max} meetings a year for {months} months",
        "MeetingHeld": "Meeting ({kind}): {attendees}",
        "MilestonePlanned": "Milestone {milestone} planned: {title}, due {due_on}",
        "MilestoneRescheduled": "Milestone {milestone} rescheduled to {due_on}",
        "MilestoneReached": "Milestone {milestone} reached",
        "MilestoneAbandoned": "Milestone {milestone} abandoned",
        "LearningRecorded": "Learning {learning}: {observation}",
        "FunctionEvidenced": "Function {function} evidenced (strength {strength}): {evidence}",
        "FunctionAssessed": "Function {function} assessed: {result}",
        "ExperimentClosed": "Experiment closed",
        "PredictionMade": "Prediction {prediction} (resolves {resolves_on}): {statement}",
        "PredictionResolved": "Prediction {prediction} resolved: {outcome}",
        "attendees": "{n} attendees", "no_attendees": "attendees not recorded",
    },
    "fr": {
        "ExperimentProposed": "Proposée : {title} (portée par {carriers})",
        "ReviewSessionHeld": "Revue {review} : séance {session} sur {sessions_planned}",
        "DecisionRecorded": "Décision {decision} ({kind}) : {summary}",
        "CommitmentMade": "Engagement {commitment} : {meetings_per_year_min} à "
                          "{meetings_per_year_max} rencontres par an pendant {months} mois",
        "MeetingHeld": "Rencontre ({kind}) : {attendees}",
        "MilestonePlanned": "Jalon {milestone} prévu : {title}, échéance {due_on}",
        "MilestoneRescheduled": "Jalon {milestone} reporté au {due_on}",
        "MilestoneReached": "Jalon {milestone} atteint",
        "MilestoneAbandoned": "Jalon {milestone} abandonné",
        "LearningRecorded": "Apprentissage {learning} : {observation}",
        "FunctionEvidenced": "Fonction {function} étayée (force {strength}) : {evidence}",
        "FunctionAssessed": "Fonction {function} évaluée : {result}",
        "ExperimentClosed": "Expérimentation close",
        "PredictionMade": "Prédiction {prediction} (échéance {resolves_on}) : {statement}",
        "PredictionResolved": "Prédiction {prediction} résolue : {outcome}",
        "attendees": "{n} participants", "no_attendees": "participants non indiqués",
    },
}  # fmt: skip


CATEGORY = {
    "ReviewSessionHeld": "review", "DecisionRecorded": "decision", "MeetingHeld": "meeting",
    "MilestonePlanned": "milestone", "MilestoneRescheduled": "milestone",
    "MilestoneReached": "milestone", "MilestoneAbandoned": "milestone",
    "LearningRecorded": "learning",
}  # fmt: skip


CATEGORIES = ("review", "decision", "meeting", "milestone", "learning", "other")


FRENCH_LABELS = {f.key: f.label_fr for f in DEFAULT_FUNCTIONS}


ENGLISH_LABELS = {f.key: f.label for f in DEFAULT_FUNCTIONS}
