"""Alerts: rules over recent samples, findings and collector health (not built yet).

Alert code may read the ledger and the store; ledger analyses never import it.
"""
