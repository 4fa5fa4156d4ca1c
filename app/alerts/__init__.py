"""Alerts (issue 12 §1): the domain core, pure and typed, with no Faust, Kafka or I/O.

- ``rules``: the rule kinds a manager switches on, their checks and their JSON;
- ``stats``: the one-sided count tests (Poisson or negative binomial) and Benjamini–Hochberg;
- ``detect``: the under-performing product detector, driven by the store's event clock;
- ``evaluate``: the other rule kinds, as evaluators over plain figures;
- ``suggest``: suggested actions, each with its reason code and parameters;
- ``lifecycle``: one open alert per (rule, store, subject), resolution, cool-down and
  deterministic ids, as a pure state transition.

``docs/alerts.md`` describes the rules, the statistics and the lifecycle, and what the wiring
into the worker still has to do.
"""
