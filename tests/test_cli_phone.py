"""`anti-relous admin enroll | list | revoke`: secrets for the phones that steer the line by SMS."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from anti_relous.cli import cli
from anti_relous.remote.codes import pin_matches
from anti_relous.store import Store

ADMIN = "+33600000001"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase = "{tmp_path / "line.db"}"\n[admin]\nnumbers = ["0600000001"]\n'
    )
    return path


def run(config, *args, input=None):
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)


def credential(config):
    with Store.open(config.parent / "line.db", create=False) as store:
        return store.remote.credential(ADMIN)


def test_enroll_before_the_first_start_creates_the_database_and_shows_the_secret(config):
    result = run(config, "admin", "enroll", "06 00 00 00 01")
    assert result.exit_code == 0, result.output
    assert "Created the database" in result.output
    secret = re.search(r"secret=([A-Z2-7]+)", result.output).group(1)
    assert credential(config).secret == secret and credential(config).kind == "totp"
    assert "▄" in result.output or "##" in result.output, "a QR code"
    assert (config.parent / "line.db").stat().st_mode & 0o777 == 0o660


def test_enrolling_again_replaces_the_secret(config):
    first = run(config, "admin", "enroll", ADMIN)
    second = run(config, "admin", "enroll", ADMIN)
    assert "Re-enrolled (the previous secret no longer works)" in second.output
    secrets = [re.search(r"secret=(\w+)", result.output)[1] for result in (first, second)]
    assert secrets[0] != secrets[1] and credential(config).secret == secrets[1]


def test_a_number_not_in_admin_numbers_cannot_enroll(config):
    result = run(config, "admin", "enroll", "0699999999")
    assert result.exit_code == 2
    assert "+33699999999 is not in [admin] numbers (+33600000001)" in result.output


def test_enroll_with_a_pin_stores_only_its_hash(config):
    result = run(config, "admin", "enroll", ADMIN, "--pin", input="48291357\n48291357\n")
    assert result.exit_code == 0, result.output
    stored = credential(config)
    assert stored.kind == "pin" and "48291357" not in stored.secret
    assert pin_matches(stored.secret, "48291357")


def test_a_short_pin_is_refused(config):
    result = run(config, "admin", "enroll", ADMIN, "--pin", input="1234\n1234\n")
    assert result.exit_code == 2 and "6 to 8 digits" in result.output


def test_list_shows_who_is_enrolled(config):
    run(config, "admin", "enroll", ADMIN)
    result = run(config, "admin", "list")
    assert re.search(r"\+33600000001\s+TOTP app\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+yes", result.output)


def test_revoke_removes_the_secret_and_a_second_revoke_fails(config):
    run(config, "admin", "enroll", ADMIN)
    assert run(config, "admin", "revoke", ADMIN).exit_code == 0
    assert credential(config) is None
    again = run(config, "admin", "revoke", ADMIN)
    assert again.exit_code == 1 and "has no secret enrolled" in again.output
