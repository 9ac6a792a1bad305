"""The app layer of narrative-tracker: the `narratives` command and the Datasette plugin.

The only package that imports crawler, clustering and db together (tests/test_import_graph.py
holds it to that). narratives/cli.py assembles the command from narratives/commands/, one module
per command group; narratives/web/ has the Datasette plugin, its templates, assets and metadata,
the standalone HTML report and the chart data both draw.
"""
