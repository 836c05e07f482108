"""Census rows checked against the change log: what SQL outside the application changed.

Every write to a census table goes through :class:`~ledger.census.service.CensusService`,
which records each created, changed or removed row in the chain with the values it
wrote. Replaying the chain (create sets the row's values, update the changed fields,
delete removes it) therefore gives exactly what every table must hold. A row whose
values differ, a row the chain never created, or a row gone without a delete record was
written outside the application. Since the chain's records are keyed and checkpointed
(:mod:`ledger.census.anchor`), whoever edits a table cannot add the matching record.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.census.fields import CATEGORIES
from ledger.census.messages import message
from ledger.census.values import to_json


class CensusReplay:
    """The census as the change log says it is, built record by record."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict]] = {key: {} for key in CATEGORIES}

    def add(self, record) -> None:
        """Apply one audit record (others than census rows are ignored)."""
        rows = self.rows.get(record["object_type"])
        if rows is None:
            return
        code, changes = record["object_key"], record["changes"] or {}
        if record["action"] == "delete":
            rows.pop(code, None)
            return
        state = rows.setdefault(code, {}) if record["action"] == "update" else {}
        rows[code] = state
        for key, pair in changes.items():
            after = pair[1] if isinstance(pair, list) and len(pair) == 2 else None
            if after is None:
                state.pop(key, None)
            else:
                state[key] = after

    def differences(self, conn: Connection, limit: int = 100,
                    language: str = "en") -> list[str]:
        """One line per census row whose table content the change log does not explain
        (categories and fields by key in English, by label in Chinese)."""
        from ledger.census.snapshot import Scope, Snapshot

        snapshot = Snapshot(conn, Scope.everything())
        problems: list[str] = []
        for key, category in CATEGORIES.items():
            logged = self.rows[key]
            named = category.label(language) if language == "zh" else key

            def say(reason: str, code: str, **params) -> None:
                problems.append(message(reason, language, category=named, code=code, **params))
            for code, record in snapshot.rows[key].records.items():
                stored = {f.key: to_json(f, record[f.key]) for f in category.fields
                          if record[f.key] is not None}
                expected = logged.get(code)
                if expected is None:
                    say("row_not_logged", code)
                    continue
                for field in category.fields:
                    was, now = expected.get(field.key), stored.get(field.key)
                    if was != now:
                        say("row_edited", code, was=repr(was), now=repr(now),
                            field=field.label(language) if language == "zh" else field.key)
            for code in logged.keys() - snapshot.rows[key].records.keys():
                say("row_deleted", code)
            if len(problems) >= limit:
                break
        return problems[:limit]
