"""The root of every error anti-relous raises on purpose, so callers can tell ours from bugs."""


class AntiRelousError(Exception):
    """An expected failure with a message a non-expert can act on.

    The CLI prints ``str(error)`` on one line; it must say what went wrong and what to do.
    """

    #: Process exit code when this error ends a command: 1 operational, 2 usage/config.
    exit_code = 1


#: How an operator gets the rights the service's files give its group. A new group reaches only
#: the processes of a new login, hence the second half.
JOIN_SERVICE_GROUP = (
    "join the 'anti-relous' group (sudo usermod -aG anti-relous $USER), then log out and in "
    "again, or run `newgrp anti-relous` in this shell"
)
