"""Several engines as one: shards and the leader role held by leases in PostgreSQL."""
