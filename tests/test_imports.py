"""DESIGN section 2's import rules, read from the package's source with ast.

Every import counts: at module level, inside functions (the CLI's lazy imports) and under
TYPE_CHECKING. A violation fails with the file, the line and the import it names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import anti_relous

PACKAGE = Path(anti_relous.__file__).parent
DRIVER = tuple(f"anti_relous.modem.{name}" for name in ("at", "commands", "at_channel", "at_modem"))
#: The line's parts and what they stand on, below the line, the process and the tools.
LOWER = (
    "anti_relous.store",
    "anti_relous.modem",
    "anti_relous.policy",
    "anti_relous.alerts",
    "anti_relous.numbers",
    "anti_relous.sms",
    "anti_relous.coding",
    "anti_relous.config",
    "anti_relous.clock",
    "anti_relous.errors",
)
UPPER = (
    "anti_relous.remote",
    "anti_relous.monitor",
    "anti_relous.metrics",
    "anti_relous.deciding",
    "anti_relous.service",
    "anti_relous.link",
    "anti_relous.replay",
    "anti_relous.daemon",
    "anti_relous.logs",
    "anti_relous.systemd",
    "anti_relous.admin",
    "anti_relous.doctor",
    "anti_relous.report",
    "anti_relous.simulator",
    "anti_relous.cli",
)

#: (imported, the only modules that may import it, why).
ONLY = [
    (("sqlite3",), ("anti_relous.store",), "only store/ touches sqlite3"),
    (
        ("serial", "pty", "tty", "termios"),
        ("anti_relous.modem.at_channel", "anti_relous.doctor.probe", "anti_relous.simulator"),
        "only the AT channel, doctor/probe and simulator/ touch serial ports and ptys",
    ),
    (
        ("gammu",),
        ("anti_relous.modem.pdu", "anti_relous.modem.gammu_modem"),
        "only modem/pdu.py and modem/gammu_modem.py touch gammu",
    ),
    (
        ("apscheduler", "anti_relous.systemd"),
        ("anti_relous.daemon",),
        "only daemon.py owns the scheduler and systemd",
    ),
    (
        ("signal",),
        ("anti_relous.daemon", "anti_relous.simulator"),
        "only daemon.py owns signals (`simulate` and `demo` run processes of their own)",
    ),
    (("pyotp",), ("anti_relous.remote.codes",), "only remote/codes.py handles TOTP codes"),
    (("prometheus_client",), ("anti_relous.metrics",), "only metrics.py speaks Prometheus"),
    (("segno",), ("anti_relous.admin.enroll",), "only admin/enroll.py draws QR codes"),
    (("anti_relous.cli",), ("anti_relous.cli", "anti_relous.__main__"), "nothing imports cli/"),
    (("anti_relous.daemon",), ("anti_relous.cli",), "nothing but the CLI imports daemon.py"),
]
#: (importers, what they must never import, why).
NEVER = [
    (
        ("anti_relous.policy",),
        ("anti_relous.store", "anti_relous.modem", "anti_relous.clock", *UPPER),
        "the policy is pure: it imports no store, modem, clock or entry point",
    ),
    (
        ("anti_relous.simulator",),
        (*DRIVER, "anti_relous.modem.gammu_modem"),
        "the simulator shares no driver code (it would test the parser against itself)",
    ),
    (
        ("anti_relous.alerts",),
        ("anti_relous.store", "anti_relous.modem", "anti_relous.clock", *UPPER),
        "alerts.py is pure: which alert, its text, its rate limit; the store queues it",
    ),
    (
        tuple(f"anti_relous.remote.{name}" for name in ("commands", "codes", "answers")),
        (
            "anti_relous.store",
            "anti_relous.modem",
            "anti_relous.clock",
            *(name for name in UPPER if name != "anti_relous.remote"),
        ),
        "parsing, checking codes and wording answers are pure; remote/__init__ does the rest",
    ),
    (
        ("anti_relous.remote", "anti_relous.monitor", "anti_relous.metrics"),
        (
            "anti_relous.service",
            "anti_relous.daemon",
            "anti_relous.admin",
            "anti_relous.doctor",
            "anti_relous.cli",
        ),
        "the admin SMS channel, alerts and metrics sit under the service, not above it",
    ),
    (
        ("anti_relous.deciding",),
        ("anti_relous.modem", "anti_relous.link", "anti_relous.service", "anti_relous.daemon"),
        "deciding meets the policy and the store, never the modem: it runs without a dongle",
    ),
    (LOWER, UPPER, "imports flow downwards: the line's parts import no line, process or tool"),
]
#: The dongle itself (not the sandbox and demo that use it) imports only these of the package.
SIMULATOR_TOOLS = ("anti_relous.simulator.sandbox", "anti_relous.simulator.demo")
SIMULATOR_MAY_IMPORT = (
    "anti_relous.simulator",
    "anti_relous.coding",
    "anti_relous.sms",
    "anti_relous.errors",
    "anti_relous.modem.pdu",
    "anti_relous.modem.errors",
)


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def existing(name: str) -> str:
    """The longest prefix of ``name`` that is a module of the package (drops imported names)."""
    parts = name.split(".")
    while len(parts) > 1:
        path = PACKAGE.parent.joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            break
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in ``path``; ``from x import y`` names x.y if a module."""
    module = module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield node.lineno, existing(name) if within(name, ("anti_relous",)) else name


def violations(path: Path) -> Iterator[str]:
    importer = module_of(path)
    for line, name in imports(path):
        where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for imported, allowed, why in ONLY:
            if within(name, imported) and not within(importer, allowed):
                yield f"{where}: {why}"
        for importers, forbidden, why in NEVER:
            if within(importer, importers) and within(name, forbidden):
                yield f"{where}: {why}"
        if (
            within(importer, ("anti_relous.simulator",))
            and not within(importer, SIMULATOR_TOOLS)
            and within(name, ("anti_relous",))
            and not (name == "anti_relous.modem" or within(name, SIMULATOR_MAY_IMPORT))
        ):
            yield (
                f"{where}: the simulated dongle imports only its own modules, the modem package "
                "root, modem.pdu, modem.errors, coding, sms and errors"
            )


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_of(path))
def test_module_follows_the_import_rules_of_design_section_2(path):
    found = list(violations(path))
    assert not found, "\n".join(found)


def test_the_rules_see_lazy_and_type_checking_imports():
    seen = {name for _, name in imports(PACKAGE / "cli" / "render.py")}
    # cli/render.py imports these only under TYPE_CHECKING; cli/running.py lazily.
    assert {"anti_relous.admin.status", "anti_relous.doctor.checks"} <= seen
    assert "anti_relous.daemon" in {name for _, name in imports(PACKAGE / "cli" / "running.py")}
