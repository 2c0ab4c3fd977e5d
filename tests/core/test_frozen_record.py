"""A FrozenRecord behaves as the frozen dataclass it replaces: the same equality, hash, repr,
immutability, dataclasses functions, copy and pickle (core.frozen_record)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest

from ato_desktop.core.frozen_record import FrozenRecord
from ato_desktop.core.regressions import MetricCheck, Side, Thresholds
from ato_desktop.engine.regressions import ChangeReport
from ato_desktop.store.paths import DataPaths


@dataclass(init=False, repr=False, eq=False)
class Point(FrozenRecord):
    __slots__ = ("label", "x", "y")
    x: int
    y: int
    label: str | None

    def __init__(self, x: int, y: int, label: str | None = None) -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "label", label)


@dataclass(frozen=True, slots=True)
class GeneratedPoint:
    x: int
    y: int
    label: str | None = None


def test_equality_hash_and_repr_are_the_generated_ones() -> None:
    point, twin, other = Point(1, 2, "a"), Point(1, 2, "a"), Point(1, 3, "a")
    assert point == twin and hash(point) == hash(twin)
    assert point != other
    assert hash(point) == hash(GeneratedPoint(1, 2, "a"))  # the hash of the fields' tuple
    assert point != GeneratedPoint(1, 2, "a")  # another class is never equal, as generated
    assert point != (1, 2, "a")
    assert repr(point) == repr(GeneratedPoint(1, 2, "a")).replace("GeneratedPoint", "Point")
    assert {point, twin, other} == {point, other}


def test_a_record_of_one_field_compares_and_hashes_as_its_tuple() -> None:
    paths = DataPaths(Path("/data"))
    assert paths == DataPaths(Path("/data")) != DataPaths(Path("/other"))
    assert hash(paths) == hash((Path("/data"),))  # as the generated __hash__: a 1-tuple
    assert repr(paths) == "DataPaths(root=PosixPath('/data'))"


def test_fields_cannot_be_assigned_or_deleted() -> None:
    point = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'y'"):
        del point.y  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.z = 1  # type: ignore[attr-defined]
    assert (point.x, point.y, point.label) == (1, 2, None)


def test_it_is_a_dataclass_to_the_dataclasses_functions() -> None:
    point = Point(1, 2, "a")
    assert dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "label"]
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "label": "a"}
    moved = dataclasses.replace(point, y=7)
    assert moved == Point(1, 7, "a") and point.y == 2
    assert not hasattr(point, "__dict__")  # slots, as slots=True gave


def test_copy_and_pickle_rebuild_it() -> None:
    point = Point(1, 2, "a")
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point
    thresholds = Thresholds(min_runs=30)
    assert pickle.loads(pickle.dumps(thresholds)) == thresholds


def test_the_regression_records_keep_their_defaults_and_checks() -> None:
    assert Thresholds() == Thresholds(10.0, 50.0, 25.0, 15.0, 20, 0.05)
    assert Thresholds().as_dict()["min_runs"] == 20
    assert Thresholds.from_dict({"alpha": 0.01, "later": 1}).alpha == 0.01
    with pytest.raises(ValueError, match="min_runs"):
        Thresholds(min_runs=1)  # __post_init__'s checks still run
    with pytest.raises(ValueError, match="min_runs"):
        dataclasses.replace(Thresholds(), min_runs=1)
    assert Side().runs == 0 and Side(3, 1).success_rate == 0.75
    check = MetricCheck("success_rate", 0.9, 0.5, -40.0, "pp", 10.0, 30, 30, 0.001, True, True,
                        True, "-40.0 pp, p = 0.001")  # fmt: skip
    change = ChangeReport("a", "agent", 2, "v2", 1, "v1", 0, "ui", "model: x -> y", (check,))
    assert change.examples == {} and change.min_runs == 20 and change.regression
    assert dataclasses.replace(change, examples={"success_rate": ()}).examples == {
        "success_rate": ()
    }
