"""Command-line interface: the only layer that formats text for people."""
