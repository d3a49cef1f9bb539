"""The scheduling service's pure core, one module per aggregate: ``hamlets`` (the commune's list of
hamlets and agency party cells), ``pilots`` (programme 1's pilot localities and pilot sites),
``meetings`` (a dialogue meeting's life), ``rotation`` (which pilot site hosts next) and ``cadres``
(programme 3). Each has ``evolve(state, event) -> state`` and ``decide_*(state, command, facts) ->
[events]``; ``rules`` holds the rules quoted when a command is refused. No I/O anywhere here."""
