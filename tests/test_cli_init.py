"""`anti-relous init`: the commented configuration and the database, with the right modes."""

from __future__ import annotations

import grp
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import as_operator
from click.testing import CliRunner

from anti_relous.admin.provision import config_text, example_config
from anti_relous.cli import cli
from anti_relous.config import Config, load_config
from anti_relous.store import Store

TOP_LEVEL_EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def init(*args):
    return CliRunner().invoke(cli, ["init", *args])


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_top_level_example_is_the_packaged_one():
    assert TOP_LEVEL_EXAMPLE.read_text() == example_config()


def test_init_writes_the_example_with_mode_0640(tmp_path):
    target = tmp_path / "config.toml"
    result = init("--path", str(target), "--database", str(tmp_path / "line.db"))
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o640
    assert target.read_text().count("\n") == example_config().count("\n")


def test_without_database_the_example_is_written_verbatim():
    assert config_text(None) == example_config()


def test_database_option_changes_only_the_storage_line(tmp_path):
    changed = config_text(tmp_path / 'a "quoted" dir' / "line.db").splitlines()
    original = example_config().splitlines()
    (diff,) = [(a, b) for a, b in zip(original, changed, strict=True) if a != b]
    assert diff[0] == 'database = "/var/lib/anti-relous/anti-relous.db"'
    assert diff[1] == f'database = "{tmp_path}/a \\"quoted\\" dir/line.db"'


def test_written_config_loads_with_the_documented_defaults_and_the_database(tmp_path):
    target = tmp_path / "config.toml"
    init("--path", str(target), "--database", "line.db")
    config = load_config(target)
    assert config.storage.database == Path.cwd() / "line.db"
    assert config.quota == Config().quota
    assert config.line.reply == Config().line.reply


def test_init_creates_the_database_0660(tmp_path):
    (tmp_path / "state").mkdir()
    database = tmp_path / "state" / "line.db"
    result = init("--path", str(tmp_path / "config.toml"), "--database", str(database))
    assert f"Created database {database}" in result.output
    assert mode(database) == 0o660
    with Store.open(database, create=False) as store:
        assert store.outbox.queued_count() == 0


def test_init_keeps_an_existing_database(tmp_path):
    database = tmp_path / "line.db"
    with Store.open(database) as store:
        store.line.pause(datetime.now(UTC), None, "kept")
    init("--path", str(tmp_path / "config.toml"), "--database", str(database))
    with Store.open(database, create=False) as store:
        assert store.line.state().pause_reason == "kept"


def test_a_database_in_a_missing_directory_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "config.toml"
    result = init("--path", str(target), "--database", str(tmp_path / "sate" / "line.db"))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"{tmp_path / 'sate'} does not exist" in result.stderr and "mkdir -p" in result.stderr
    assert "permission" not in result.stderr
    assert not target.exists() and not (tmp_path / "sate").exists()


def test_a_database_directory_without_write_permission_is_refused_before_anything(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    target = tmp_path / "config.toml"
    result = as_operator(
        ["init", "--path", str(target), "--database", str(tmp_path / "ro" / "line.db")]
    )
    assert result.returncode == 1, result.stderr
    assert f"permission denied in {tmp_path / 'ro'}" in result.stderr
    assert "does not exist" not in result.stderr
    assert not target.exists()


def test_init_again_keeps_the_config_and_creates_only_the_missing_database(tmp_path):
    target, database = tmp_path / "config.toml", tmp_path / "line.db"
    init("--path", str(target), "--database", str(database))
    target.write_text(target.read_text() + "# edited\n")
    database.unlink()
    result = init("--path", str(target))
    assert result.exit_code == 0, result.output
    assert f"Kept the existing {target}" in result.output
    assert f"Created database {database}" in result.output
    assert target.read_text().endswith("# edited\n")


def test_init_when_both_exist_keeps_both(tmp_path):
    target, database = tmp_path / "config.toml", tmp_path / "line.db"
    init("--path", str(target), "--database", str(database))
    result = init("--path", str(target), "--database", str(database))
    assert result.exit_code == 0
    assert f"Kept the existing {target}" in result.output
    assert f"Kept the existing database {database}" in result.output


def test_init_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("# mine\n")
    result = init("--path", str(target), "--database", str(tmp_path / "line.db"))
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "# mine\n"


def test_init_force_replaces_the_file(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("# mine\n")
    target.chmod(0o666)
    result = init("--path", str(target), "--database", str(tmp_path / "line.db"), "--force")
    assert result.exit_code == 0
    assert mode(target) == 0o640
    assert "[modem]" in target.read_text()


def test_init_writes_where_config_points_without_path(tmp_path):
    target = tmp_path / "from-option.toml"
    result = CliRunner().invoke(
        cli, ["--config", str(target), "init", "--database", str(tmp_path / "line.db")]
    )
    assert result.exit_code == 0
    assert target.exists()


def test_init_shows_the_reply_encoding(tmp_path):
    result = init("--path", str(tmp_path / "c.toml"), "--database", str(tmp_path / "line.db"))
    assert "Reply: GSM-7, 274 characters, 2 SMS parts" in result.output


def test_init_into_an_unwritable_place_exits_1(tmp_path):
    result = init("--path", "/proc/anti-relous/config.toml")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another group")
def test_init_as_root_gives_the_config_to_the_service_group(tmp_path):
    try:
        gid = grp.getgrnam("anti-relous").gr_gid
    except KeyError:
        pytest.skip("no anti-relous group on this machine (systemd-sysusers creates it)")
    target = tmp_path / "config.toml"
    init("--path", str(target), "--database", str(tmp_path / "line.db"))
    assert target.stat().st_gid == gid


# --- links planted where init writes --------------------------------------------------------------


def test_init_refuses_a_database_path_that_is_a_dangling_link(tmp_path):
    target = tmp_path / "elsewhere" / "created-by-sqlite"
    target.parent.mkdir()
    database = tmp_path / "line.db"
    database.symlink_to(target)
    result = init("--path", str(tmp_path / "config.toml"), "--database", str(database))
    assert result.exit_code == 1
    assert "symbolic link" in result.stderr and str(target) in result.stderr
    assert not target.exists(), "SQLite created the link's target"


def test_init_force_over_a_config_link_replaces_the_link_not_its_target(tmp_path):
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:0\n")
    target = tmp_path / "config.toml"
    target.symlink_to(victim)
    result = init("--path", str(target), "--database", str(tmp_path / "line.db"), "--force")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "root:x:0:0\n"
    assert not target.is_symlink() and mode(target) == 0o640


def test_init_without_force_refuses_a_dangling_config_link(tmp_path):
    target = tmp_path / "config.toml"
    target.symlink_to(tmp_path / "nowhere")
    result = init("--path", str(target), "--database", str(tmp_path / "line.db"))
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert not (tmp_path / "nowhere").exists()
