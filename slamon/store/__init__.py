"""Persistence: raw results, state intervals and hourly rollups in SQL.

``schema`` holds the tables, ``dialects`` the SQLite/PostgreSQL differences,
``sql`` the store's queries, ``writer`` the one task that batches writes,
``incidents`` incidents and stored maintenance (and what readers load of them),
``finalized`` finalized reports, ``packing`` the packed daily rollups, and
``migrate`` runs the Alembic migrations. Imports nothing of slamon outside ``store``
but the config's types.
"""
