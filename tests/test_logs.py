"""Logging set-up: one line per event, journald priorities, phone numbers masked at INFO."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anti_relous.logs import configure_logging, mask_numbers

log = logging.getLogger("anti_relous.service")

PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): (.*)$")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the root and apscheduler loggers back as pytest had them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    scheduler_level = logging.getLogger("apscheduler").level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(scheduler_level)


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[TextIO]:
    """A real file stream, as stderr is under systemd: it has a device and an inode."""
    with (tmp_path / "stderr.log").open("w+", encoding="utf-8") as file:
        yield file


def journal_stream_of(stream: TextIO) -> dict[str, str]:
    status = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}


def written(stream: TextIO) -> list[str]:
    stream.flush()
    stream.seek(0)
    return stream.read().splitlines()


def test_plain_line_has_timestamp_level_logger_and_message(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ={})
    log.info("poll done: %d stored", 3)
    [line] = written(stream)
    match = PLAIN_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("INFO", "anti_relous.service", "poll done: 3 stored")


@pytest.mark.parametrize(
    ("level", "prefix"),
    [("debug", "<7>"), ("info", "<6>"), ("warning", "<4>"), ("error", "<3>"), ("critical", "<2>")],
)
def test_journal_stream_gets_syslog_priority_prefix_and_no_timestamp(
    stream: TextIO, level: str, prefix: str
) -> None:
    configure_logging("debug", full_numbers=False, stream=stream, environ=journal_stream_of(stream))
    log.log(logging.getLevelName(level.upper()), "modem answered")
    assert written(stream) == [f"{prefix}anti_relous.service: modem answered"]


def test_journal_stream_naming_another_file_keeps_the_plain_format(
    stream: TextIO, tmp_path: Path
) -> None:
    with (tmp_path / "elsewhere").open("w") as other:
        configure_logging(
            "info", full_numbers=False, stream=stream, environ=journal_stream_of(other)
        )
    log.info("redirected output")
    [line] = written(stream)
    assert PLAIN_LINE.match(line), line


def test_malformed_journal_stream_keeps_the_plain_format(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ={"JOURNAL_STREAM": "x"})
    log.info("hello")
    [line] = written(stream)
    assert PLAIN_LINE.match(line), line


def test_records_below_the_level_are_dropped(stream: TextIO) -> None:
    configure_logging("warning", full_numbers=False, stream=stream, environ={})
    log.info("routine")
    log.warning("SIM storage 90% full")
    [line] = written(stream)
    assert line.endswith("SIM storage 90% full")


def test_number_is_masked_at_info(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ={})
    log.info("reply sent to %s", "+33612345678")
    [line] = written(stream)
    assert "+33612345678" not in line
    assert line.endswith("reply sent to +336••••••78")


def test_number_is_masked_at_error_inside_the_traceback_too(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ={})
    try:
        raise RuntimeError("send to 0612345678 failed")
    except RuntimeError:
        log.exception("outbox row 7 failed")
    [line] = written(stream)
    assert "0612345678" not in line
    assert "061•••••78" in line


def test_number_is_not_masked_at_debug(stream: TextIO) -> None:
    configure_logging("debug", full_numbers=False, stream=stream, environ={})
    log.debug("AT+CMGS for %s", "+33612345678")
    [line] = written(stream)
    assert line.endswith("AT+CMGS for +33612345678")


def test_number_is_not_masked_with_full_numbers(stream: TextIO) -> None:
    configure_logging("info", full_numbers=True, stream=stream, environ={})
    log.info("reply sent to %s", "+33612345678")
    [line] = written(stream)
    assert line.endswith("reply sent to +33612345678")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+33612345678", "+336••••••78"),
        ("+33 6 12 34 56 78", "+336••••••78"),
        ("06 12 34 56 78", "061•••••78"),
        ("06.12.34.56.78", "061•••••78"),
        ("07-12-34-56-78", "071•••••78"),
        ("0033612345678", "003••••••••78"),
        ("+447911123456", "+447•••••••56"),
    ],
)
def test_phone_number_forms_are_masked(text: str, masked: str) -> None:
    assert mask_numbers(f"from {text}, twice") == f"from {masked}, twice"


@pytest.mark.parametrize(
    "text",
    [
        "poll took 1234567 us",  # too short to be a number
        "index 0512345678",  # 05 is not a French mobile prefix
        "chain 3f0612345678ab",  # digits inside a longer token
        "SMS-DELIVER 061234567890123",  # longer digit run
        "alphanumeric sender FREE MOBILE",
        "2026-11-28 14:00:00,123",
    ],
)
def test_text_that_is_not_a_phone_number_is_left_alone(text: str) -> None:
    assert mask_numbers(text) == text


def test_multi_line_message_stays_one_line(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ=journal_stream_of(stream))
    log.warning("SMS text: %s", "hello\n<3>anti_relous: forged critical\r\x1b[2J")
    assert written(stream) == [
        "<4>anti_relous.service: SMS text: hello\\n<3>anti_relous: forged critical\\r\\x1b[2J"
    ]


def test_exception_is_formatted_on_the_same_line(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ=journal_stream_of(stream))
    try:
        {}["missing"]
    except KeyError:
        log.exception("poll failed")
    [line] = written(stream)
    assert line.startswith("<3>anti_relous.service: poll failed\\nTraceback (most recent call")
    assert line.endswith("KeyError: 'missing'")


@settings(max_examples=50, deadline=None)
@given(message=st.text())
def test_any_message_is_exactly_one_line(
    message: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("one-line") / "stderr.log"
    with path.open("w+", encoding="utf-8", errors="surrogateescape") as stream:
        handler = configure_logging("debug", full_numbers=False, stream=stream, environ={})
        log.info("%s", message)
        logging.getLogger().removeHandler(handler)
        assert len(written(stream)) == 1


def test_calling_again_replaces_the_previous_handler(stream: TextIO, tmp_path: Path) -> None:
    with (tmp_path / "first.log").open("w+") as first:
        configure_logging("info", full_numbers=False, stream=first, environ={})
        configure_logging("info", full_numbers=False, stream=stream, environ={})
        log.info("after reload")
        assert written(first) == []
    assert len(written(stream)) == 1


def test_apscheduler_job_chatter_is_hidden_at_info(stream: TextIO) -> None:
    configure_logging("info", full_numbers=False, stream=stream, environ={})
    logging.getLogger("apscheduler.executors.default").info('Running job "poll"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    [line] = written(stream)
    assert line.endswith("Run time of job was missed")


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'verbose'"):
        configure_logging("verbose", full_numbers=False)


def test_journal_prefix_is_used_when_stderr_itself_is_the_journal_stream(tmp_path: Path) -> None:
    # The way systemd runs the daemon: stderr is a stream whose device:inode is JOURNAL_STREAM.
    # A real child process checks the default stream (sys.stderr) and the default os.environ.
    code = (
        "import logging, os, sys\n"
        "from anti_relous.logs import configure_logging\n"
        "st = os.fstat(2)\n"
        "os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'\n"
        "configure_logging('info', full_numbers=False)\n"
        "logging.getLogger('anti_relous.daemon').info('ready for %s', '+33612345678')\n"
    )
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("wb") as stderr:
        subprocess.run([sys.executable, "-c", code], stderr=stderr, check=True, timeout=60)
    assert (
        stderr_path.read_text(encoding="utf-8") == "<6>anti_relous.daemon: ready for +336••••••78\n"
    )
