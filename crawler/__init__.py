"""Scrapy project of narrative-tracker: outlets, spiders, pipelines and article extraction, crawl
runs and their health, the run lock, the schedule loop and scale-out over Redis. Imports only `db`
(tests/test_import_graph.py)."""
