"""``@frozen_dataclass``: ``@dataclass(frozen=True)``, built when the class is first used.

Building a frozen dataclass compiles six methods and costs about a millisecond; the modules
``anti-relous status`` imports define some forty, most of which that command never makes (the
flood's rows, the sections of the config it does not read). Here the class is an ordinary class
until its first instance is made (or ``build`` is called), and only then becomes the dataclass.
Afterwards it behaves as one in every way (fields, eq, hash, repr, replace, asdict), but for a
Python-level ``__new__`` in front of each instance (about a quarter of a microsecond: CPython
does not restore ``object.__new__`` once a class has set its own).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

#: Held while a class is built: two threads making the first instances at once (the worker and
#: the simulator's thread, say) must not both build it (a second build of a class whose field
#: has a ``default_factory`` would make that field required).
_building = threading.RLock()


def _new(klass: type[T], *args: Any, **kwargs: Any) -> T:
    """``__new__`` of a built class: ``object.__new__`` without the arguments ``__init__`` takes."""
    return object.__new__(klass)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen_dataclass(cls: type[T]) -> type[T]:
    """Mark ``cls`` to become ``dataclass(frozen=True)`` when its first instance is made."""

    def __new__(klass: type[T], *args: Any, **kwargs: Any) -> T:
        build(cls)
        return object.__new__(klass)

    cls.__new__ = __new__  # type: ignore[assignment, method-assign]
    return cls


def build(cls: type[T]) -> type[T]:
    """Make ``cls`` its dataclass now (for ``dataclasses.fields`` on the class itself)."""
    with _building:
        if "__dataclass_fields__" not in vars(cls):
            dataclasses.dataclass(frozen=True)(cls)
            # Later instances skip the check and the lock.
            cls.__new__ = _new  # type: ignore[assignment, method-assign]
    return cls


def declared_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The fields of ``cls`` by name, without building it when it is not built yet.

    Unbuilt, only the fields declared with ``dataclasses.field(...)`` are seen (a class whose
    every field is declared so, as the config sections are, loses nothing).
    """
    if "__dataclass_fields__" in vars(cls):
        return {f.name: f for f in dataclasses.fields(cls)}
    return {name: v for name, v in vars(cls).items() if isinstance(v, dataclasses.Field)}
