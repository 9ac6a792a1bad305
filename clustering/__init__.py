"""Embedding and clustering of articles into events and narratives (next issue)."""
