"""The reporting service's pure core: ``periods`` (schedules and their periods), ``enrolments``
(which units owe which schedules), ``reports`` (a report's life: due, draft, corrections,
submitted, overdue), ``petition_life`` (a petition as a report sees it, from the petitions
service's events), ``areas`` (where a fact belongs in either tier structure, legacy units
included) and ``figures`` (the figures themselves); the "Dân vận khéo" models: ``models`` (a
model's state and steps 1 to 4), ``recognition`` (the ladder, votes, notices, commendation,
replication), ``evaluation`` (levels) and ``model_rules`` (the rules quoted). No I/O anywhere here."""
