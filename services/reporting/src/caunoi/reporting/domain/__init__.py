"""The reporting service's pure core: ``periods`` (schedules and their periods), ``enrolments``
(which units owe which schedules), ``reports`` (a report's life: due, draft, corrections,
submitted, overdue), ``petition_life`` (a petition as a report sees it, from the petitions
service's events), ``areas`` (where a fact belongs in either tier structure, legacy units
included) and ``figures`` (the figures themselves). No I/O anywhere here."""
