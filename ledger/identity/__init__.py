"""Users, roles, sessions, API tokens and login records (等保 2.0 third grade).

- :mod:`ledger.identity.roles`: the one description of roles and permissions (三员分立,
  business roles, which need or refuse a department, which need a second factor).
- :mod:`ledger.identity.tables`: the tables (``identity_*``).
- :mod:`ledger.identity.policy`: password complexity, expiry, lockout and session limits.
- :mod:`ledger.identity.service`: :class:`IdentityService`, the only writer of those tables;
  every login, failure, lockout, grant and token use goes into the census change log's
  hash chain (:mod:`ledger.census.audit`), so it is append-only and verified the same way.

Nothing here imports the web tier; ``dashboards.access`` turns an identity into a request's
scope and ``monitor.user_cli`` is the command line.
"""
