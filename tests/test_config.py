"""Configuration: documented defaults, the example file, and errors that name the key."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from anti_relous.config import (
    Config,
    ConfigError,
    format_duration,
    load_config,
    open_config,
    parse_config,
    parse_duration,
    resolve_config_path,
)

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_example_file_holds_exactly_the_documented_defaults():
    assert load_config(EXAMPLE) == Config()


def test_example_file_documents_every_key():
    text = EXAMPLE.read_text()
    for section_name, section in Config().sections().items():
        assert f"[{section_name}]" in text
        for key in vars(section):
            assert re.search(rf"^{key} = ", text, re.MULTILINE), f"{section_name}.{key}"


def _examples():
    section = None
    for line in EXAMPLE.read_text().splitlines():
        if line.startswith("["):
            section = line
        elif line.startswith("# example: "):
            yield section, line.removeprefix("# example: ")


@pytest.mark.parametrize(("section", "line"), list(_examples()))
def test_every_example_value_in_the_example_file_loads(section, line):
    parse_config(f"{section}\n{line}\n")


def test_missing_sections_take_defaults():
    assert parse_config("") == Config()


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ("[quota]\nreplies_per_number = -1", "[quota] replies_per_number", "whole number >= 0"),
        ("[quota]\nreplies_per_hour = 1.5", "[quota] replies_per_hour", "whole number"),
        ("[quota]\nreplies_per_hour = true", "[quota] replies_per_hour", "whole number"),
        ("[quota]\nper_number = 1", "[quota] per_number", "unknown key"),
        ("[floods]\nthreshold = 1", "[floods]", "unknown section"),
        ("flood = 3", "[flood]", "expected a table"),
        ('[flood]\nwindow = "10"', "[flood] window", "not a duration"),
        ("[flood]\nwindow = 600", "[flood] window", "expected a string"),
        ('[flood]\ncooldown = "0s"', "[flood] cooldown", "above zero"),
        ("[flood]\nthreshold = 0", "[flood] threshold", ">= 1"),
        ('[line]\nallowed_regions = ["France"]', "[line] allowed_regions", "region code"),
        ("[line]\nallowed_regions = []", "[line] allowed_regions", "non-empty list"),
        ('[line]\nown_number = "12345"', "[line] own_number", "not a valid phone number"),
        ('[line]\nreply = "  "', "[line] reply", "must not be empty"),
        ('[line]\nreply = "a\\u0001b"', "[line] reply", "control characters"),
        ('[alerts]\nnumbers = ["+3361"]', "[alerts] numbers", "not a valid phone number"),
        ('[alerts]\nnumbers = "+33612345678"', "[alerts] numbers", "list of numbers"),
        ('[alerts]\nquiet = "23h-7h"', "[alerts] quiet", '"23:00-07:00"'),
        ('[alerts]\ndigest = "24:00"', "[alerts] digest", '"08:00"'),
        ('[admin]\nnumbers = ["+3361"]', "[admin] numbers", "not a valid phone number"),
        ("[admin]\nmax_failures = 0", "[admin] max_failures", ">= 1"),
        ('[metrics]\ntextfile = "anti-relous.prom"', "[metrics] textfile", "absolute path"),
        ('[metrics]\ntextfile = "/tmp/anti-relous.txt"', "[metrics] textfile", "ending in .prom"),
        ('[modem]\nbackend = "serial"', "[modem] backend", "'at', 'gammu'"),
        ("[modem]\npin = 1234", "[modem] pin", "in quotes"),
        ('[modem]\npin = "12"', "[modem] pin", "4 to 8 digits"),
        ("[modem]\nbaudrate = 0", "[modem] baudrate", ">= 1200"),
        ('[log]\nlevel = "verbose"', "[log] level", "'debug'"),
        ("[log]\nfull_numbers = 1", "[log] full_numbers", "true or false"),
        ("[cost]\ncloud_price_per_sms = -0.1", "[cost] cloud_price_per_sms", "price >= 0"),
    ],
)
def test_bad_value_names_its_key_and_the_expectation(toml, key, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(toml, source="line.toml")
    message = str(caught.value)
    assert message.startswith(f"line.toml: {key}: "), message
    assert expected in message


@pytest.mark.parametrize(
    ("toml", "hint"),
    [
        ("[quota]\nreplies_per_dya = 5", "did you mean replies_per_day?"),
        ("[floods]\nthreshold = 1", "did you mean [flood]?"),
        ("[alert]\nnumbers = []", "did you mean [alerts]?"),
    ],
)
def test_a_misspelt_name_suggests_the_closest_one(toml, hint):
    with pytest.raises(ConfigError, match=re.escape(hint)):
        parse_config(toml)


def test_opening_a_config_reports_a_mistake_in_any_section_at_once(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[modem]\nbaudrate = 0\n[storage]\ndatabase = "line.db"\n')
    with pytest.raises(ConfigError, match=r"\[modem\] baudrate"):
        open_config(path)


def test_numbers_are_checked_when_a_command_reads_their_section(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[alerts]\nnumbers = ["+3361"]\n[storage]\ndatabase = "line.db"\n')
    config = open_config(path)
    assert config.storage.database == tmp_path / "line.db"
    with pytest.raises(ConfigError, match=r"\[alerts\] numbers"):
        config.alerts  # noqa: B018 - reading the section is the test


def test_lenient_config_warns_and_takes_the_default_of_a_bad_key_only(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[quota]\nreplies_per_dya = 5\nreplies_per_hour = 7\n")
    warnings = []
    config = open_config(path, lenient=True, warn=warnings.append)
    assert (config.quota.replies_per_day, config.quota.replies_per_hour) == (300, 7)
    config.quota  # noqa: B018 - a second read warns no more
    assert len(warnings) == 1 and "replies_per_dya" in warnings[0]


def test_lenient_config_still_refuses_a_bad_storage_section(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[storage]\ndatabase = 3\n")
    with pytest.raises(ConfigError, match=r"\[storage\] database"):
        open_config(path, lenient=True, warn=print)


def test_loading_checks_every_section_at_once():
    with pytest.raises(ConfigError, match=r"\[log\] level"):
        parse_config('[log]\nlevel = "loud"')


def test_broken_toml_is_a_config_error_with_its_position():
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        parse_config("[quota]\nreplies_per_hour = = 3")


def test_config_error_exits_with_usage_code():
    assert ConfigError("x").exit_code == 2


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match="anti-relous init"):
        load_config(tmp_path / "absent.toml")


def test_relative_database_path_is_read_next_to_the_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndatabase = "line.db"\n')
    assert load_config(path).storage.database == tmp_path / "line.db"


def test_relative_flag_list_is_read_next_to_the_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[report]\nflags = "flags.toml"\n')
    assert load_config(path).report.flags == str(tmp_path / "flags.toml")


def test_numbers_in_national_format_are_normalised_with_the_line_region():
    config = parse_config(
        '[line]\nown_number = "06 12 34 56 78"\n[alerts]\nnumbers = ["0033698765432"]\n'
        '[admin]\nnumbers = ["06 11 22 33 44"]'
    )
    assert config.line.own_number == "+33612345678"
    assert config.alerts.numbers == ("+33698765432",)
    assert config.admin.numbers == ("+33611223344",)


def test_retention_zero_means_keep_forever():
    assert parse_config('[storage]\nretention = "0"').storage.retention == timedelta(0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("24h", 86400), ("7d", 604800), ("2w", 1209600), ("1h30m", 5400)],
)
def test_durations_parse_and_format_back(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "-5m", "1.5h", "10 minutes", "5y"])
def test_bad_durations_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="90s"):
        parse_duration(text)


def test_config_path_prefers_option_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTI_RELOUS_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(str(tmp_path / "opt.toml")) == tmp_path / "opt.toml"
    assert resolve_config_path(None) == tmp_path / "env.toml"
    monkeypatch.delenv("ANTI_RELOUS_CONFIG")
    assert resolve_config_path(None) == Path("/etc/anti-relous/config.toml")
