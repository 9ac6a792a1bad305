"""The process stages of narrative-tracker: embedding (clustering/embedding/), events, narratives,
watched narratives, text reuse, spread and search. Imports only `db` (tests/test_import_graph.py)."""
