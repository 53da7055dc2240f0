"""Accounting: availability under each rule, daily totals, exclusions, confirmation, quorum.

Also a component's state from its monitors'. Imports ``sla_engine.time`` only.
"""
