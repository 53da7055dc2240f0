"""Prometheus collectors that read live objects at scrape time (never the database).

``live`` (monitors, the scheduler, the writer, the bus), ``locations`` (per location
and the MQTT bus), ``operations`` (SLOs, alerts, incidents, notifiers), ``config`` (reloads and
discovery sources). They import
the types they read only for type checking, so any room can be measured.
"""
