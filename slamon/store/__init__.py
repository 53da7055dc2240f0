"""Persistence: raw results, state intervals and hourly rollups in SQL.

``schema`` holds the tables, ``dialects`` the SQLite/PostgreSQL differences,
``sql`` the store's queries, ``writer`` the one task that batches writes, and
``migrate`` runs the Alembic migrations.
"""
