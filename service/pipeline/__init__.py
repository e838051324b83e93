"""The worker pipeline: claim → read → evaluate → enforce → settle, and the reconciliation sweeper."""
