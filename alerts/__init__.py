"""Alerts: rules over stored samples, target state, findings and the monitor's own health;
Alertmanager's routing, grouping, inhibition and silences; delivery by e-mail, webhook,
DingTalk, WeCom and Feishu, exactly once.

- :mod:`alerts.config` / :mod:`alerts.config_routing`: the ``alerts`` section, validated;
- :mod:`alerts.evaluate` and :mod:`alerts.state`: conditions now, and pending/firing/resolved
  in the ledger;
- :mod:`alerts.routing`, :mod:`alerts.dispatch`, :mod:`alerts.silences`: who is told what
  and when (the group log and the outbox in the ledger);
- :mod:`alerts.delivery` and :mod:`alerts.transports`: sending, retries, rate limits;
- :mod:`alerts.forward`: handing alerts to an existing Alertmanager instead;
- :mod:`alerts.engine`: the scheduler's jobs; :mod:`alerts.queries`: reading for people.

Alert code reads the ledger and the store and never polls; the ledger and the scheduler never
import it (the process wiring hands its jobs to the scheduler).
"""
