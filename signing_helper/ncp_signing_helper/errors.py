"""The one error type the helper reports."""


class HelperError(Exception):
    """A failure the command reports on stderr as one line (never with a secret in it) and exits 1 for."""
