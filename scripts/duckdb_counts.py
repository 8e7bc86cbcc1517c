"""Print the row count of every table in a DuckDB file (the demo's proof of load)."""

from __future__ import annotations

import sys

import duckdb


def table_counts(path: str) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table of the database at `path`."""
    con = duckdb.connect(path, read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        return [
            (
                schema,
                table,
                con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0],
            )
            for schema, table in tables
        ]
    finally:
        con.close()


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "output/warehouse.duckdb"
    rows = table_counts(path)
    width = max((len(f"{s}.{t}") for s, t, _ in rows), default=10)
    print(f"{'table':<{width}}  rows")
    for schema, table, count in rows:
        print(f"{schema + '.' + table:<{width}}  {count}")
    if not rows or any(count == 0 for _, _, count in rows):
        sys.exit("some tables are empty")


if __name__ == "__main__":
    main()
