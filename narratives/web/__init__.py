"""What analysts see in a browser: the Datasette plugin (datasette_plugin.py, with templates/,
static/ and metadata.yml), `narratives serve` (server.py), the standalone HTML report (report.py)
and the chart data both draw (charts.py)."""
