"""`python/reservoir/_core.pyi` checked against the built extension, so the two cannot drift.

The stub is parsed with `ast`. Every class, function, method, property and attribute it names
exists on `reservoir._core` with the same kind (and methods with the same parameters); every
public name of the extension is in the stub; exception base classes match; attribute values
of real instances have the annotated types. A few behaviours the stub's docstrings state are
checked too.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import pickle
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from reservoir import _core

STUB = Path(__file__).resolve().parents[2] / "python" / "reservoir" / "_core.pyi"
NOW = 1_700_000_000_000
# Container / call protocols: a class defining one at runtime must declare it in the stub.
PROTOCOL_DUNDERS = {
    "__len__",
    "__iter__",
    "__getitem__",
    "__contains__",
    "__call__",
    "__enter__",
    "__exit__",
    "__bool__",
}


@dataclass
class StubClass:
    name: str
    bases: list[str]
    attributes: dict[str, ast.expr] = field(default_factory=dict)  # name -> annotation
    properties: dict[str, ast.FunctionDef] = field(default_factory=dict)
    methods: dict[str, ast.FunctionDef] = field(default_factory=dict)

    @property
    def members(self) -> set[str]:
        return set(self.attributes) | set(self.properties) | set(self.methods)


@dataclass
class Stub:
    classes: dict[str, StubClass]
    functions: dict[str, ast.FunctionDef]
    values: dict[str, ast.expr]  # module-level annotated names (`__version__`)
    aliases: dict[str, ast.expr]  # type aliases (stub-only, e.g. `LevelRow`)

    @property
    def runtime_names(self) -> set[str]:
        return set(self.classes) | set(self.functions) | set(self.values)


def parse_stub() -> Stub:
    tree = ast.parse(STUB.read_text(), filename=str(STUB))
    stub = Stub({}, {}, {}, {})
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls = StubClass(node.name, [ast.unparse(b) for b in node.bases])
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    cls.attributes[item.target.id] = item.annotation
                elif isinstance(item, ast.FunctionDef):
                    decorators = {ast.unparse(d) for d in item.decorator_list}
                    if "property" in decorators:
                        cls.properties[item.name] = item
                    else:
                        cls.methods[item.name] = item
            stub.classes[node.name] = cls
        elif isinstance(node, ast.FunctionDef):
            stub.functions[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub.values[node.target.id] = node.annotation
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                assert isinstance(target, ast.Name)
                stub.aliases[target.id] = node.value
    return stub


STUB_INFO = parse_stub()
CLASSES = sorted(STUB_INFO.classes)
EXCEPTIONS = sorted(
    name
    for name in CLASSES
    if isinstance(getattr(_core, name, None), type)
    and issubclass(getattr(_core, name), BaseException)
)
VALUE_CLASSES = [name for name in CLASSES if name not in EXCEPTIONS]


def inherited(cls: StubClass) -> dict[str, ast.expr]:
    """Attributes of a stub class, its stub bases' included."""
    attributes: dict[str, ast.expr] = {}
    for base in cls.bases:
        if base in STUB_INFO.classes:
            attributes.update(inherited(STUB_INFO.classes[base]))
    attributes.update(cls.attributes)
    return attributes


# --- names and kinds ---------------------------------------------------------------------


def test_the_stub_parses_and_names_the_core_api() -> None:
    assert {"Engine", "Limits", "Batch", "Reservation", "Outcome", "ReservoirError"} <= set(
        STUB_INFO.classes
    )
    assert "reservation_seq" in STUB_INFO.functions
    assert "__version__" in STUB_INFO.values


def test_every_public_name_of_the_extension_is_in_the_stub() -> None:
    public = {n for n in dir(_core) if not n.startswith("_")} | {"__version__"}
    assert public - STUB_INFO.runtime_names == set(), "in the extension, not in the stub"
    assert STUB_INFO.runtime_names - public == set(), "in the stub, not in the extension"
    assert set(_core.__all__) == STUB_INFO.runtime_names
    assert not set(STUB_INFO.aliases) & public, "a stub type alias shadows a runtime name"


@pytest.mark.parametrize("name", CLASSES)
def test_every_stub_class_is_a_class_with_the_same_bases(name: str) -> None:
    runtime = getattr(_core, name)
    assert isinstance(runtime, type)
    stub_bases = STUB_INFO.classes[name].bases or ["object"]
    assert [b.__name__ for b in runtime.__bases__] == stub_bases
    for base in runtime.__bases__:
        owner = _core if base.__name__ in STUB_INFO.classes else builtins
        assert base is getattr(owner, base.__name__, None), f"{name}: base {base!r}"


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


def test_exceptions_survive_pickling() -> None:
    e = _core.Engine()
    with pytest.raises(_core.ReservationNotFound) as info:
        e.commit("rsv_ff", NOW)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is _core.ReservationNotFound
    assert str(copy) == str(info.value)


@pytest.mark.parametrize("name", sorted(STUB_INFO.functions))
def test_every_stub_function_is_a_function(name: str) -> None:
    runtime = getattr(_core, name)
    assert inspect.isroutine(runtime) and not isinstance(runtime, type)
    assert_same_parameters(STUB_INFO.functions[name], runtime, f"_core.{name}")


def test_the_version_is_the_package_version() -> None:
    assert isinstance(_core.__version__, str)
    assert _core.__version__ == metadata.version("reservoir")


@pytest.mark.parametrize("name", VALUE_CLASSES)
def test_value_class_members_match(name: str) -> None:
    stub, runtime = STUB_INFO.classes[name], getattr(_core, name)
    for attr in [*stub.attributes, *stub.properties]:
        descriptor = inspect.getattr_static(runtime, attr, None)
        assert descriptor is not None, f"{name}.{attr} missing"
        assert inspect.isdatadescriptor(descriptor), f"{name}.{attr} is not an attribute"
    for method, node in stub.methods.items():
        if method == "__init__":
            assert_same_parameters(node, runtime, f"{name}()")
            continue
        member = inspect.getattr_static(runtime, method, None)
        assert member is not None, f"{name}.{method} missing"
        assert inspect.isroutine(member) and not inspect.isdatadescriptor(member), (
            f"{name}.{method} is not a method"
        )
        assert_same_parameters(node, getattr(runtime, method), f"{name}.{method}")
    own = {n for n in vars(runtime) if not n.startswith("_") or n in PROTOCOL_DUNDERS}
    assert own - stub.members == set(), f"{name}: members missing from the stub"


@pytest.mark.parametrize("name", VALUE_CLASSES)
def test_classes_without_init_in_the_stub_cannot_be_built_from_python(name: str) -> None:
    if "__init__" in STUB_INFO.classes[name].methods:
        return
    with pytest.raises(TypeError):
        getattr(_core, name)()


def assert_same_parameters(node: ast.FunctionDef, runtime: Any, where: str) -> None:
    """Names, order, keyword-only-ness and defaults of the stub's parameters (bar `self`)
    equal the runtime's `__text_signature__`."""
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    defaults = dict(
        zip(
            reversed(positional),
            [ast.literal_eval(d) for d in reversed(args.defaults)],
            strict=False,
        )
    )
    expected = [
        (name, "positional", defaults.get(name, inspect.Parameter.empty))
        for name in positional
        if name != "self"
    ]
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        value = inspect.Parameter.empty if default is None else ast.literal_eval(default)
        expected.append((arg.arg, "keyword", value))
    assert args.vararg is None and args.kwarg is None, where

    signature = inspect.signature(runtime)
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "positional",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
    }
    got = [
        (p.name, kinds[p.kind], p.default)
        for p in signature.parameters.values()
        if p.name != "self"
    ]
    assert got == expected, where


# --- attribute values have the annotated types -------------------------------------------


def conforms(value: Any, annotation: ast.expr) -> bool:
    """Whether `value` fits a stub annotation (the subset of typing the stub uses)."""
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return value is None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return conforms(value, annotation.left) or conforms(value, annotation.right)
    if isinstance(annotation, ast.Name):
        if annotation.id in STUB_INFO.aliases:
            return conforms(value, STUB_INFO.aliases[annotation.id])
        if annotation.id in STUB_INFO.classes:
            return isinstance(value, getattr(_core, annotation.id))
        simple = {"str": str, "int": int, "bool": bool}
        if annotation.id == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, simple[annotation.id])
    if isinstance(annotation, ast.Subscript):
        outer = ast.unparse(annotation.value)
        inner = annotation.slice
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
    raise AssertionError(f"annotation not understood: {ast.unparse(annotation)}")


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
    }
    for error in errors:
        instances.setdefault(type(error).__name__, []).append(error)
    instances["ReservoirError"] = errors  # raised only as one of its subclasses
    return instances


SAMPLES = sample_instances()


@pytest.mark.parametrize("name", CLASSES)
def test_instances_carry_the_annotated_attributes_with_their_types(name: str) -> None:
    assert SAMPLES.get(name), f"no sample instance of {name}"
    stub = STUB_INFO.classes[name]
    annotated = inherited(stub)
    for instance in SAMPLES[name]:
        for attr, annotation in annotated.items():
            assert hasattr(instance, attr), f"{name}.{attr} missing"
            value = getattr(instance, attr)
            assert conforms(value, annotation), f"{name}.{attr} = {value!r}"
        for prop, node in stub.properties.items():
            assert node.returns is not None
            assert conforms(getattr(instance, prop), node.returns), f"{name}.{prop}"
        if name in EXCEPTIONS:
            own = inherited(STUB_INFO.classes[type(instance).__name__])
            extra = {k for k in vars(instance) if not k.startswith("_")} - set(own)
            assert extra == set(), f"{type(instance).__name__}: attributes not in the stub"


def test_the_version_value_conforms() -> None:
    assert conforms(_core.__version__, STUB_INFO.values["__version__"])


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
