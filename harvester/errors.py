"""Errors shared by the commands (kept out of cli.py so `python -m harvester.cli` sees one class)."""


class CommandError(Exception):
    """A failure the user can act on: printed as one line, exit status 2."""
