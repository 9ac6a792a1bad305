"""The narrative-tracker demo web: fictional outlets served on loopback (see demo/README.md).

- `demo.webserver.FixtureWeb`: generic multi-site fixture server (reusable by tests);
- `demo.server.start_demo_web()`: the demo web built from demo/content + demo/templates;
- `demo/ground_truth.json`: what the pipeline should find (events, narratives, copies, citations).
"""
