"""Pure SLA logic over state intervals: no I/O, no clock, no database.

Everything here takes data (and ``now`` where it matters) as arguments and returns
values, so it can be read, tested and reasoned about without a network.
"""
