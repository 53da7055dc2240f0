"""Several engines as one: shards and the leader role held by leases in PostgreSQL.

``leases``: the lease statements (acquire, renew, release; members' heartbeats) on the
database's clock. ``member``: one engine's part: which shards it consumes, handing
them over and taking them, and the leader's work. Fencing of writes by a lease's epoch
is in the store (``Store.write_batch``) and its writer.
"""
