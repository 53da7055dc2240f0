"""Notifiers: one module per kind, one worker each, a hub that fans messages out.

``message`` is what is sent (an alert or an incident event), ``worker`` the bounded
queue with retries and backoff that keeps a dead receiver from blocking anything,
``hub`` the fan-out, ``registry`` the kinds by config type.
"""
