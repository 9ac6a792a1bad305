"""The commands of `narratives`, one module per command group; narratives/cli.py assembles them."""
