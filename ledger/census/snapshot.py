"""What the census ledger holds now, as seen by one caller's department scope.

:class:`Scope` is the caller's reach: every department of its subtree, or everything
(``Scope.everything()``) for administrators and the system itself. :class:`Snapshot`
loads declared rows as typed records keyed by code, with references as codes, which is
the form imports, exports, diffs and the API all compare in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from ledger.census.fields import CATEGORIES, Category
from ledger.census.tables import TABLES


class ScopeError(LookupError):
    """The scope's department does not exist."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no department with code {code!r}")
        self.code = code

    def text(self, language: str | None = None) -> str:
        """The error in ``language`` (Chinese by default), as the command line prints it."""
        from ledger.census.messages import message
        return message("unknown_department", language or "zh", code=self.code)


@dataclass(frozen=True)
class Scope:
    """A caller's department scope: ``root`` and its subtree; ``root=None`` sees all."""

    root: str | None = None
    department_ids: frozenset[int] = frozenset()

    @classmethod
    def everything(cls) -> "Scope":
        """The unrestricted scope (administrators, the scheduler)."""
        return cls()

    @classmethod
    def for_department(cls, conn: Connection, code: str) -> "Scope":
        """The subtree of department ``code``; raises ScopeError if it does not exist."""
        table = TABLES["department"]
        row = conn.execute(select(table.c.id, table.c.path)
                           .where(table.c.code == code)).one_or_none()
        if row is None:
            raise ScopeError(code)
        ids = conn.execute(select(table.c.id)
                           .where(table.c.path.startswith(row.path, autoescape=True))).scalars()
        return cls(root=code, department_ids=frozenset(ids))

    @property
    def unrestricted(self) -> bool:
        """Whether this scope sees the whole ledger."""
        return self.root is None

    def covers(self, department_id: int | None) -> bool:
        """Whether a row owned by ``department_id`` is visible and writable."""
        return self.unrestricted or department_id in self.department_ids


@dataclass
class Rows:
    """The declared rows of one category: typed records by code, plus ids and owners."""

    category: Category
    records: dict[str, dict] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    owners: dict[str, int | None] = field(default_factory=dict)


class _LazyRows(dict):
    """Categories' rows, each loaded from the database when first asked for."""

    def __init__(self, load) -> None:
        super().__init__()
        self._load = load

    def __missing__(self, key: str) -> Rows:
        rows = self[key] = self._load(CATEGORIES[key])
        return rows


class Snapshot:
    """Every declared row of the ledger (all departments: uniqueness and references are
    global), with :meth:`visible` telling what the scope may see.

    Codes of every category are read at once; full rows of a category only when first
    used, so a one-row API change does not read every device of the ledger.
    """

    def __init__(self, conn: Connection, scope: Scope) -> None:
        self.scope = scope
        self.codes_by_id: dict[str, dict[int, str]] = {}
        for key in CATEGORIES:
            table = TABLES[key]
            self.codes_by_id[key] = dict(conn.execute(select(table.c.id, table.c.code)).all())
        self.codes = {key: set(codes.values()) for key, codes in self.codes_by_id.items()}
        self.rows: dict[str, Rows] = _LazyRows(lambda category: self._load(conn, category))

    def _load(self, conn: Connection, category: Category) -> Rows:
        table = TABLES[category.key]
        rows = Rows(category)
        columns = [(f.key, f.column, self.codes_by_id[f.ref] if f.kind == "ref" else None)
                   for f in category.fields]
        for row in conn.execute(select(table).order_by(table.c.id)).mappings():
            record = {}
            for key, column, codes in columns:
                value = row[column]
                record[key] = codes[value] if codes is not None and value is not None else value
            code = record["code"]
            rows.records[code] = record
            rows.ids[code] = row["id"]
            rows.owners[code] = row.get("department_id", row["id"]
                                        if category.key == "department" else None)
        return rows

    def department_id(self, code: str | None) -> int | None:
        """The id of department ``code`` (None if unknown)."""
        return None if code is None else self.rows["department"].ids.get(code)

    def visible(self, category: str, code: str) -> bool:
        """Whether the scope sees the row ``code`` of ``category``."""
        rows = self.rows[category]
        if category == "region":
            return True
        return self.scope.covers(rows.owners.get(code))

    def visible_records(self, category: str) -> list[dict]:
        """The scope's rows of ``category``, in ledger order."""
        return [record for code, record in self.rows[category].records.items()
                if self.visible(category, code)]
