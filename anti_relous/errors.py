"""The root of every error anti-relous raises on purpose, so callers can tell ours from bugs."""


class AntiRelousError(Exception):
    """An expected failure with a message a non-expert can act on.

    The CLI prints ``str(error)`` on one line; it must say what went wrong and what to do.
    """

    #: Process exit code when this error ends a command: 1 operational, 2 usage/config.
    exit_code = 1
