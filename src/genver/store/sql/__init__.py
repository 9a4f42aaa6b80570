"""The SQL store: SQLAlchemy 2 Core on SQLite (default) and PostgreSQL, schema owned by Alembic."""
