"""The kit's exceptions: library code raises these, the CLI prints them as one line."""


class KitError(Exception):
    """A problem the user can fix; the message says how."""


class DataError(KitError):
    """NSMC files are missing, unreadable or malformed."""


class ModelError(KitError):
    """A model or tokenizer cannot be loaded or used as asked."""


class RunError(KitError):
    """An output folder is in a state that would lose work if we went on."""
