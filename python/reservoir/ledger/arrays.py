"""Parameters as arrays: a table of rows passed to PostgreSQL as one array per column and read
back with `unnest`, its columns named once."""

from __future__ import annotations


class Arrays:
    """Equal-length arrays bound as consecutive parameters and read back as one table by
    `unnest`: its columns are named once, here, and the statement and the arguments both
    follow that list (adding a column is one edit)."""

    def __init__(self, first: int, *columns: tuple[str, str]) -> None:
        self.first = first  # the number of its first parameter ($first)
        self.names = tuple(name for name, _ in columns)
        self.types = tuple(sql_type for _, sql_type in columns)

    @property
    def next(self) -> int:
        """The number of the parameter after its last one."""
        return self.first + len(self.names)

    def unnest(self) -> str:
        """`unnest($n::type[], ...)`: the arrays as rows (alias them in the statement)."""
        params = ", ".join(f"${self.first + i}::{t}[]" for i, t in enumerate(self.types))
        return f"unnest({params})"

    def columns(self) -> str:
        return ", ".join(self.names)
