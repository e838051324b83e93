"""Burst benchmark: REST requests and drain time for 1,000 ONTASKUPDATE events across 100 tasks,
b24rules against a naive per-event client, both against the sandbox portal. See docs/performance.md."""
