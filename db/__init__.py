"""SQLite storage of narrative-tracker: schema and migrations, store functions, queries. Imports no other package of the project."""
from db.connection import open_db
from db.migrations import migrate

__all__ = ["open_db", "migrate"]
