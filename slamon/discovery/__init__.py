"""Monitors from files other tools write: ``[[discovery]]`` sources, read and watched.

``formats`` (slamon's monitor files and Prometheus file_sd, into monitors),
``catalog`` (every source's files, read once per change, a bad file skipped whole),
``watch`` (the task that re-reads on a change, with watchfiles). May import ``config``.
"""
