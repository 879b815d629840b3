"""The one exception type for user mistakes: shown as a single line, never a traceback."""


class UserError(Exception):
    """Bad input from the user (a path, a file, an argument); the message says what to do."""
