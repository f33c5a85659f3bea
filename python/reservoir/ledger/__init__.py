"""The PostgreSQL ledger: schema, migrations, partitions, the one-writer lock and the verifier."""
