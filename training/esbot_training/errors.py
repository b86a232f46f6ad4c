"""The one error type the CLI turns into a single clear message (no traceback)."""


class TrainingConfigError(Exception):
    """Something the user must change (configuration, data, environment); the message says what."""
