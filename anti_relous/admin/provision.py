"""``anti-relous init``: the commented configuration (0640) and the database (0660), owned right."""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from pathlib import Path

from anti_relous.admin import AdminError
from anti_relous.admin.files import check_target, replacing
from anti_relous.store import Store

#: The service account and group of systemd/sysusers.d/anti-relous.conf.
SERVICE_USER = "anti-relous"
SERVICE_GROUP = "anti-relous"
#: The config holds the SIM PIN: root writes it, the service group reads it, others nothing.
CONFIG_FILE_MODE = 0o640


def example_config() -> str:
    """The commented example configuration shipped with the package."""
    from importlib import resources

    return resources.files("anti_relous").joinpath("config.example.toml").read_text("utf-8")


def config_text(database: Path | None) -> str:
    """The example configuration, with ``[storage] database`` set to ``database`` if given."""
    text = example_config()
    if database is None:
        return text
    line = re.compile(r'^database = ".*"$', re.MULTILINE)
    if not line.search(text):  # pragma: no cover - the example always has the line
        raise AdminError("the example configuration lost its [storage] database line")
    return line.sub(lambda _: f"database = {_toml_string(str(database))}", text, count=1)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_ids() -> tuple[int | None, int | None]:
    """(uid, gid) of the anti-relous service account, None where it does not exist."""
    try:
        uid: int | None = pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        uid = None
    try:
        gid: int | None = grp.getgrnam(SERVICE_GROUP).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def write_config(path: Path, text: str, *, force: bool) -> str | None:
    """Write ``text`` at ``path`` with mode 0640; returns the group given to it, if any.

    Run as root, the file goes to group anti-relous (when it exists) so the service can read it.
    Refuses to replace an existing file (or link) unless ``force``; a link at ``path`` is
    replaced itself, never followed, so its target is left as it was.
    """
    check_target(path, force=force, example="config.toml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AdminError(f"cannot create {path.parent}: {error.strerror or error}") from None
    _, gid = service_ids()
    give = gid if os.geteuid() == 0 and gid is not None else None
    with replacing(path, mode=CONFIG_FILE_MODE, gid=give) as handle:
        handle.write(text)
    return SERVICE_GROUP if give is not None else None


def check_database_place(path: Path) -> None:
    """Raise AdminError, before anything is written, if the database cannot be made at ``path``.

    A missing directory (often a typo in --database) and a directory this user may not write
    in get different advice; a missing directory is never created: a mistyped path would
    quietly become the line's home, owned by whoever ran init.
    """
    try:
        if path.exists():
            return
    except PermissionError:
        raise AdminError(
            f"cannot reach {path}: permission denied on a directory above it: run as root "
            "(sudo anti-relous init) or as the service user"
        ) from None
    directory = path.parent
    if not directory.is_dir():
        raise AdminError(
            f"cannot create the database {path}: the directory {directory} does not exist "
            f"(a typo in --database?); fix the path, or create it first: mkdir -p {directory}"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise AdminError(
            f"cannot create the database {path}: permission denied in {directory}: run as "
            "root (sudo anti-relous init), or give a --database in a directory you can write"
        )


def create_database(path: Path) -> bool:
    """Create (0660) and migrate the database; returns False if it already existed.

    Run as root, it is handed to the service account so the daemon can write it: only the
    regular file just created, never what a link planted at ``path`` points to (the store
    refuses a dangling link, and ``lchown`` does not follow one).
    """
    existed = os.path.lexists(path)
    Store.open(path, create=True).close()
    uid, gid = service_ids()
    created = not existed and stat.S_ISREG(path.lstat().st_mode)
    if os.geteuid() == 0 and created and uid is not None:
        os.chown(path, uid, gid if gid is not None else -1, follow_symlinks=False)
    return not existed
