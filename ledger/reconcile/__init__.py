"""Reconciliation: what departments declared against what the collectors observe.

- :mod:`~ledger.reconcile.normalize`: identity values and fields in comparable form;
- :mod:`~ledger.reconcile.entities`: observed rows that are one thing;
- :mod:`~ledger.reconcile.match`: keys, strongest first, to declared assets;
- :mod:`~ledger.reconcile.compare`: field-by-field differences;
- :mod:`~ledger.reconcile.engine`: the pure function from rows to pairs and findings (the
  definition: what the SQL below must give);
- :mod:`~ledger.reconcile.sql_norm`, :mod:`~ledger.reconcile.sql`: the same, set-based,
  as the ledger runs it;
- :mod:`~ledger.reconcile.store`: running it on the ledger and reading the results.
"""
