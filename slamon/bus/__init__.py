"""Results on their way from probes to the engine.

``inprocess`` is the asyncio queue of one process. With agents: ``mqtt`` is the one
module that knows the MQTT client (paho-mqtt), ``wire`` the message formats and their
checks, ``agent`` the probe agent, its spool and its batches, ``ingest`` the engine's
side (validate, correct clock skew with ``skew``, hand to the engine, acknowledge once
stored). May import ``engine``, ``events``, ``store`` and the config's types; nothing
of alerting, site or web.
"""
