"""`reservoir._core` as Python sees it, beyond what `mypy.stubtest` checks of the stub
(scripts/test.sh runs stubtest: names, kinds and signatures of the stub against the extension).

Here: classes lead back to their module, exceptions pickle and keep their hierarchy, the
version is the package's, classes the stub gives no constructor refuse one, attribute values of
real instances have the stub's annotated types (which stubtest does not look at), and a few
behaviours the stub's docstrings state.
"""

from __future__ import annotations

import ast
import pickle
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from reservoir import _core

STUB = Path(__file__).resolve().parents[2] / "python" / "reservoir" / "_core.pyi"
NOW = 1_700_000_000_000
CLASSES = sorted(n for n in _core.__all__ if isinstance(getattr(_core, n), type))
EXCEPTIONS = [n for n in CLASSES if issubclass(getattr(_core, n), BaseException)]


def class_members(node: ast.ClassDef) -> dict[str, ast.expr]:
    """A stub class's own annotated attributes and properties (name -> annotation)."""
    members: dict[str, ast.expr] = {}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members[item.target.id] = item.annotation
        elif (
            isinstance(item, ast.FunctionDef)
            and item.returns is not None
            and "property" in {ast.unparse(d) for d in item.decorator_list}
        ):
            members[item.name] = item.returns
    return members


def stub_annotations() -> tuple[dict[str, dict[str, ast.expr]], dict[str, ast.expr]]:
    """Per stub class, its annotated attributes and properties (name -> annotation), its stub
    bases' included; and the stub's type aliases."""
    tree = ast.parse(STUB.read_text(), filename=str(STUB))
    own: dict[str, dict[str, ast.expr]] = {}
    bases: dict[str, list[str]] = {}
    aliases: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases[node.name] = [ast.unparse(b) for b in node.bases]
            own[node.name] = class_members(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                assert isinstance(target, ast.Name)
                aliases[target.id] = node.value

    def inherited(name: str) -> dict[str, ast.expr]:
        out: dict[str, ast.expr] = {}
        for base in bases[name]:
            if base in own:
                out.update(inherited(base))
        out.update(own[name])
        return out

    return {name: inherited(name) for name in own}, aliases


ANNOTATED, ALIASES = stub_annotations()


# --- classes and exceptions --------------------------------------------------------------


def test_every_class_can_be_found_by_its_module_and_name() -> None:
    """`__module__` must name the module the stub describes: what pickle, logging and
    tracebacks rely on (`reservoir._core.X`, not a bare `_core.X`)."""
    wrong = {}
    for name in CLASSES:
        runtime = getattr(_core, name)
        module = sys.modules.get(runtime.__module__)
        if runtime.__module__ != "reservoir._core" or getattr(module, name, None) is not runtime:
            wrong[name] = runtime.__module__
    assert wrong == {}, "classes whose __module__ does not lead back to them"


def test_the_exception_hierarchy() -> None:
    """What callers catch (lib/errors maps them to problems)."""
    bases = {name: [b.__name__ for b in getattr(_core, name).__bases__] for name in EXCEPTIONS}
    assert bases == {
        "ReservoirError": ["Exception"],
        "InvalidInput": ["ReservoirError"],
        "LimitExceeded": ["InvalidInput"],
        "UnknownSku": ["ReservoirError"],
        "UnknownLocation": ["ReservoirError"],
        "InsufficientStock": ["ReservoirError"],
        "ReservationNotFound": ["ReservoirError"],
        "InvalidState": ["ReservoirError"],
        "Backpressure": ["ReservoirError"],
        "BuyerLimit": ["ReservoirError"],
        "UnknownChannel": ["ReservoirError"],
        "DropNotStarted": ["ReservoirError"],
        "WaitlistEntryNotFound": ["ReservoirError"],
        "AlreadyWaiting": ["ReservoirError"],
        "UnitsAvailable": ["ReservoirError"],
    }
    assert _core.ReservoirError.__bases__ == (Exception,)


def test_exceptions_survive_pickling() -> None:
    e = _core.Engine()
    with pytest.raises(_core.ReservationNotFound) as info:
        e.commit("rsv_ff", NOW)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is _core.ReservationNotFound
    assert str(copy) == str(info.value)


def test_the_version_is_the_package_version() -> None:
    assert isinstance(_core.__version__, str)
    assert _core.__version__ == metadata.version("reservoir")


@pytest.mark.parametrize("name", ["Batch", "Outcome", "Reservation"])
def test_classes_without_a_constructor_in_the_stub_cannot_be_built_from_python(name: str) -> None:
    with pytest.raises(TypeError):
        getattr(_core, name)()


# --- attribute values have the annotated types -------------------------------------------


def conforms(value: Any, annotation: ast.expr) -> bool:
    """Whether `value` fits a stub annotation (the subset of typing the stub uses)."""
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return value is None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return conforms(value, annotation.left) or conforms(value, annotation.right)
    if isinstance(annotation, ast.Name):
        return conforms_to_name(value, annotation.id)
    if isinstance(annotation, ast.Subscript):
        return conforms_to_generic(value, ast.unparse(annotation.value), annotation.slice)
    raise AssertionError(f"annotation not understood: {ast.unparse(annotation)}")


def conforms_to_name(value: Any, name: str) -> bool:
    """A type alias, a stub class, or one of the simple types."""
    if name in ALIASES:
        return conforms(value, ALIASES[name])
    if name in ANNOTATED:
        return isinstance(value, getattr(_core, name))
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    simple = {"str": str, "bool": bool}
    return isinstance(value, simple[name])


def conforms_to_generic(value: Any, outer: str, inner: ast.expr) -> bool:
    """`Final[...]`, `list[...]` or `tuple[...]`."""
    if outer == "Final":
        return conforms(value, inner)
    if outer == "list":
        return isinstance(value, list) and all(conforms(v, inner) for v in value)
    if outer == "tuple":
        items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return (
            isinstance(value, tuple)
            and len(value) == len(items)
            and all(conforms(v, a) for v, a in zip(value, items, strict=True))
        )
    raise AssertionError(f"annotation not understood: {outer}[{ast.unparse(inner)}]")


def sample_instances() -> dict[str, list[Any]]:
    """Real instances of every stub class, made through the public API."""
    e = _core.Engine()
    e.define_location("L0")
    e.define_location("QC", False)
    e.define_sku("S0")
    e.receive("S0", "L0", 10, NOW)
    e.adjust("S0", "QC", 3, NOW)
    held = e.reserve([("S0", 2, None)], 1_000, NOW)
    other = e.reserve([("S0", 1, "L0")], 1_000, NOW)
    outcomes = [
        e.commit(held.id, NOW),
        e.extend(other.id, 2_000, NOW),
        e.release(held.id, NOW),
    ]
    short = e.reserve([("S0", 1, None)], 10, NOW)
    e.expire_due(NOW + 10)
    batches = [e.drain(1_000), e.drain(1_000)]  # the second is empty
    errors: list[BaseException] = []
    waits = _core.Engine()
    waits.define_sku("S0")
    waits.define_location("L0")
    waits.receive("S0", "L0", 1, NOW)
    tiny = _core.Engine(_core.Limits(log_entries_max=1, lines_per_reservation_max=1))
    tiny.define_sku("S0")
    tiny.define_location("L0")
    for call in (
        lambda: e.reserve([], 1_000, NOW),
        lambda: tiny.reserve([("S0", 1, None)] * 2, 1_000, NOW),
        lambda: e.reserve([("NOPE", 1, None)], 1_000, NOW),
        lambda: e.reserve([("S0", 1, "NOWHERE")], 1_000, NOW),
        lambda: e.reserve([("S0", 100, None)], 1_000, NOW),
        lambda: e.commit("rsv_ff", NOW),
        lambda: e.commit("nope", NOW),
        lambda: e.commit(short.id, NOW),
        lambda: (tiny.receive("S0", "L0", 1, NOW), tiny.receive("S0", "L0", 1, NOW)),
        lambda: (
            e.set_per_buyer_max("S0", 1),
            e.reserve([("S0", 2, None)], 1_000, NOW, buyer="b1"),
        ),
        lambda: (e.define_channel("web"), e.reserve([("S0", 1, None)], 1_000, NOW, channel="pos")),
        lambda: waits.join_waitlist("S0", 1, NOW, buyer="b1"),
        lambda: (
            waits.reserve([("S0", 1, None)], 1_000, NOW),
            waits.join_waitlist("S0", 1, NOW, buyer="b1"),
            waits.join_waitlist("S0", 1, NOW, buyer="b1"),
        ),
        lambda: waits.leave_waitlist(99, NOW),
        lambda: (
            e.define_drop("D1", "S0", NOW + 10, NOW + 20),
            e.reserve([("S0", 1, None)], 1_000, NOW),
        ),
    ):
        with pytest.raises(_core.ReservoirError) as info:
            call()
        errors.append(info.value)
    instances: dict[str, list[Any]] = {
        "Limits": [_core.Limits(), _core.Limits(holds_max=5)],
        "Reservation": [held, other, e.get(other.id), e.get(held.id)],
        "Outcome": outcomes,
        "Batch": batches,
        "LevelRow": e.all_levels(),
        "LogRow": batches[0].rows,
        "Engine": [e],
        "OpenLinesLoader": [_core.OpenLinesLoader()],
    }
    for error in errors:
        instances.setdefault(type(error).__name__, []).append(error)
    instances["ReservoirError"] = errors  # raised only as one of its subclasses
    return instances


SAMPLES = sample_instances()


@pytest.mark.parametrize("name", CLASSES)
def test_instances_carry_the_annotated_attributes_with_their_types(name: str) -> None:
    assert SAMPLES.get(name), f"no sample instance of {name}"
    for instance in SAMPLES[name]:
        annotated = ANNOTATED[type(instance).__name__] if name in EXCEPTIONS else ANNOTATED[name]
        for attr, annotation in annotated.items():
            assert hasattr(instance, attr), f"{name}.{attr} missing"
            value = getattr(instance, attr)
            assert conforms(value, annotation), f"{name}.{attr} = {value!r}"
        if name in EXCEPTIONS:
            extra = {k for k in vars(instance) if not k.startswith("_")} - set(annotated)
            assert extra == set(), f"{type(instance).__name__}: attributes not in the stub"


# --- behaviours the stub's docstrings state ------------------------------------------------


def test_reservation_seq_of_a_malformed_id_names_no_reservation() -> None:
    """Stub: "a malformed id names no reservation: ReservationNotFound"."""
    assert _core.reservation_seq("rsv_ff") == 255
    for bad in ("nope", "rsv_0x1", "rsv_01", ""):
        with pytest.raises(_core.ReservationNotFound):
            _core.reservation_seq(bad)


def test_pooled_lines_take_the_most_available_location_ties_by_location_code() -> None:
    """Stub, `Engine.reserve`: "allocated over the SKU's sellable locations, most available
    first (ties: location code), splitting the line if needed"."""
    e = _core.Engine()
    for code in ("B", "A", "C"):  # defined out of code order
        e.define_location(code)
    e.define_location("Q", False)
    e.define_sku("S")
    for code, q in (("B", 5), ("A", 5), ("C", 7), ("Q", 50)):
        e.receive("S", code, q, NOW)
    assert e.reserve([("S", 2, None)], 1_000, NOW).lines == [("S", "C", 2)]  # largest first
    # now A, B and C all have 5: the tie goes to the lowest code
    assert e.reserve([("S", 3, None)], 1_000, NOW).lines == [("S", "A", 3)]
    # split: B 5, C 5, A 2 -> most available first, ties by code
    assert e.reserve([("S", 12, None)], 1_000, NOW).lines == [
        ("S", "B", 5),
        ("S", "C", 5),
        ("S", "A", 2),
    ]
