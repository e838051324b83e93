"""The database: schema and migrations, event journal (the queue), snapshots, audit log, breakers."""
