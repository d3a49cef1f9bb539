"""Audit: the hash chain every event carries (``chain``), signed checkpoints over each stream
(``checkpoints``), the verifier an outside auditor runs (``verifier``, standard library and
``cryptography`` only), and the replay that proves every read model (``replay``).
docs/architecture.md, "Audit", says how they fit."""
