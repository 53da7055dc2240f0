"""Finance reports: evidence gathered from the store, evaluated, rendered, finalized.

``gather`` reads and evaluates, ``entries`` turns a contract's report into plain
values and hashes, ``finalize`` builds reports and keeps finalized ones, ``render``
writes tables, CSV and JSON, ``suggest`` proposes targets from history. May import
``store`` and the config's types; nothing of alerting, site or web.
"""
