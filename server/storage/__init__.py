"""Storage on SQLite or PostgreSQL: the sqlmodel tables, the ``Sql…Store`` classes that implement the
domain's ports (every query scoped by company), downloaded media on disk, and the Alembic migrations."""
