"""Frozen dataclasses that cost next to nothing to define, for modules a CLI command imports.

`@dataclass(frozen=True, slots=True)` writes the source of __init__, __repr__, __eq__, __hash__,
__setattr__ and __delattr__ for each class and compiles it when the module is imported, then
builds the class a second time for its slots: 1 to 2 ms a class, the largest part of what
importing the regression modules cost `ato-desktop insights regressions` (issue 20, part 3).
A FrozenRecord is still a dataclass (dataclasses.fields, asdict, replace and is_dataclass work
on it) declared as `@dataclass(init=False, repr=False, eq=False)` with its own `__slots__` and
an `__init__` written out in the class, which sets each field with object.__setattr__; this
base gives it the rest, written once here and compiled with the module's bytecode:

- equality and hash over the fields, in order, between instances of the same class;
- the dataclass repr, `Name(field=value, ...)`;
- immutability: assigning or deleting a field raises dataclasses.FrozenInstanceError;
- copy and pickle (rebuilt through __init__ with the field values in order).

Defaults live in the __init__ signature (a class attribute would clash with its slot), so a
Field's `default` is MISSING. Use it where a module's import time matters; elsewhere a plain
frozen dataclass says the same with less code.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class FrozenRecord:
    """The generated methods of a frozen dataclass, over the fields of the subclass."""

    __slots__ = ()
    __dataclass_fields__: dict[str, Any]
    _fields_of: Callable[[Any], tuple[Any, ...]]  # per class, made with the first use

    def _values(self) -> tuple[Any, ...]:
        """The fields' values in order (one C call: as fast as the generated __eq__'s tuple)."""
        cls = self.__class__
        values_of = cls.__dict__.get("_fields_of")
        if values_of is None:
            names = tuple(cls.__dataclass_fields__)
            if len(names) == 1:  # attrgetter of one name gives the value, not a tuple
                single = attrgetter(names[0])
                values_of = lambda record: (single(record),)  # noqa: E731
            else:
                values_of = attrgetter(*names)
            cls._fields_of = values_of
        return values_of(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return f"{self.__class__.__qualname__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, self._values()
