"""The ledger: declared and observed assets, poll state, and the analyses over them.

Ledger code never imports ``dashboards`` or ``alerts``.
"""
