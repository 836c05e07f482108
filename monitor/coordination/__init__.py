"""Beyond one machine: schedulers in network zones and schedulers sharing a zone.

- :mod:`monitor.coordination.outbox`: a zone's poll outcomes and facts, spooled on disk and
  delivered in order to the center's ingest API with idempotency keys.
- :mod:`monitor.coordination.zone`: the scheduler of one zone (``scheduler --zone Z``).
- :mod:`monitor.coordination.hashing` and :mod:`monitor.coordination.leases`: membership as
  leases in the zone's PostgreSQL, rendezvous hashing of targets over live members, and
  one claim per target and interval slot so no slot is polled twice.
"""
