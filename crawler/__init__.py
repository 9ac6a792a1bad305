"""Scrapy project of narrative-tracker: outlets, spiders, pipelines and article extraction."""
