"""@frozen_dataclass: nothing is built until the class is used, then it is a frozen dataclass."""

from __future__ import annotations

import copy
import dataclasses
import threading

import pytest

from anti_relous.lazyclass import build, declared_fields, frozen_dataclass


def make_class():
    @frozen_dataclass
    class Row:
        id: int
        name: str
        tags: tuple[str, ...] = dataclasses.field(default=(), metadata={"check": "tags"})
        count: int = 0

    return Row


def test_nothing_is_built_before_the_first_instance():
    row = make_class()
    assert not dataclasses.is_dataclass(row)


def test_the_first_instance_makes_it_a_frozen_dataclass():
    row_class = make_class()
    row = row_class(1, "a")
    assert dataclasses.is_dataclass(row_class)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.name = "b"  # type: ignore[misc]


def test_instances_compare_hash_print_and_copy_as_dataclasses():
    row_class = make_class()
    first, same = row_class(1, "a", ("x",)), row_class(id=1, name="a", tags=("x",))
    assert first == same and hash(first) == hash(same)
    assert repr(first).endswith("Row(id=1, name='a', tags=('x',), count=0)")
    assert dataclasses.replace(first, count=2).count == 2
    assert dataclasses.asdict(first) == {"id": 1, "name": "a", "tags": ("x",), "count": 0}
    assert copy.deepcopy(first) == first


def test_declared_fields_are_readable_before_and_after_building():
    row_class = make_class()
    before = declared_fields(row_class)
    assert list(before) == ["tags"] and before["tags"].metadata["check"] == "tags"
    assert not dataclasses.is_dataclass(row_class)
    build(row_class)
    after = declared_fields(row_class)
    assert list(after) == ["id", "name", "tags", "count"]
    assert after["tags"].metadata["check"] == "tags"


def test_a_missing_argument_is_the_dataclass_error():
    with pytest.raises(TypeError, match="name"):
        make_class()(1)


def test_two_threads_making_the_first_instances_at_once_build_the_class_once():
    builders: list[str] = []
    other_thread_building = threading.Event()

    class SeesBuilders:
        """A field default that the build reads: the first thread to build waits there for
        another thread to come building too."""

        def __get__(self, instance: object, owner: type) -> int:
            builders.append(threading.current_thread().name)
            if builders[0] == builders[-1]:
                other_thread_building.wait(timeout=0.5)
            else:
                other_thread_building.set()
            return 0

    @frozen_dataclass
    class Row:
        id: int
        count: int = SeesBuilders()  # type: ignore[assignment]
        tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)

    threads = [threading.Thread(target=Row, args=(n,), name=f"maker-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(builders)) == 1, f"built by {sorted(set(builders))}"
    assert Row(3) == Row(3, 0, ())
