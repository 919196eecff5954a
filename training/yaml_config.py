"""Typed, frozen config dataclasses from YAML: strict keys, type checks, dotted overrides.

Every error names the file and the dotted key (``configs/x.yaml: unknown key 'loss.spatail' ...``).
A dataclass validates its own values in ``__post_init__`` by raising ``ValueError("field ...")``;
:func:`build` prefixes the section and the file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from accident_anticipation_ros.training.errors import TrainConfigError

T = TypeVar("T")


def require(ok: bool, text: str) -> None:
    """Raise ``ValueError(text)`` unless ``ok``: the check of a config dataclass's ``__post_init__``
    (:func:`build` turns it into an error naming the file and key)."""
    if not ok:
        raise ValueError(text)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise TrainConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise TrainConfigError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def apply_overrides(
    data: dict[str, Any], overrides: list[str] | tuple[str, ...], source: str
) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a nested dict (a copy)."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise TrainConfigError(f"{source}: override {item!r} must look like 'section.key=value'")
        parts = key.strip().split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise TrainConfigError(
                    f"{source}: override {item!r}: '{'.'.join(parts[: i + 1])}' is not a section"
                )
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise TrainConfigError(f"{source}: override {item!r}: value is not valid YAML ({err})") from None
    return data


def to_dict(cfg: Any) -> Any:
    """A config dataclass as plain JSON/YAML data (tuples become lists)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (tuple, list)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def build(cls: type[T], data: Any, source: str, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data`` strictly.

    Args:
        cls: A (frozen) dataclass type whose fields are typed with int, float, str, bool, ``X | None``,
            ``tuple[...]``, ``dict[str, Any]``, ``Any`` or nested dataclasses.
        data: The mapping (from YAML).
        source: File name for error messages.
        where: Dotted key of this section ('' at the top level).

    Raises:
        TrainConfigError: unknown or missing key, wrong type or invalid value (names file and key).
    """
    label = where or "the top level"
    if not isinstance(data, dict):
        raise TrainConfigError(f"{source}: '{label}' must be a mapping, got {type(data).__name__} ({data!r})")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise TrainConfigError(
            f"{source}: unknown key '{_join(where, str(unknown[0]))}' (keys of {label}: {', '.join(fields)})"
        )
    kwargs = {name: _coerce(hints[name], value, _join(where, name), source) for name, value in data.items()}
    for name, f in fields.items():
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if name not in kwargs and no_default:
            raise TrainConfigError(f"{source}: missing key '{_join(where, name)}'")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        prefix = f"{where}." if where else ""
        raise TrainConfigError(f"{source}: {prefix}{err}") from None


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _coerce(tp: Any, value: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise TrainConfigError(f"{source}: '{key}' may not be null")
        inner = [a for a in args if a is not type(None)]
        errors = []
        for arg in inner:
            try:
                return _coerce(arg, value, key, source)
            except TrainConfigError as err:
                errors.append(str(err))
        raise TrainConfigError(
            errors[0] if len(errors) == 1 else f"{source}: '{key}' has a bad value {value!r}"
        )
    if dataclasses.is_dataclass(tp):
        return build(tp, value, source, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TrainConfigError(
                f"{source}: '{key}' must be a list, got {type(value).__name__} ({value!r})"
            )
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{key}[{i}]", source) for i, v in enumerate(value))
        if len(value) != len(args):
            raise TrainConfigError(
                f"{source}: '{key}' must have {len(args)} entries, got {len(value)} ({value!r})"
            )
        return tuple(
            _coerce(a, v, f"{key}[{i}]", source) for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise TrainConfigError(f"{source}: '{key}' must be a mapping, got {type(value).__name__}")
        return dict(value)
    if value is None:
        raise TrainConfigError(f"{source}: '{key}' may not be null")
    if tp is bool:
        if not isinstance(value, bool):
            raise TrainConfigError(f"{source}: '{key}' must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TrainConfigError(f"{source}: '{key}' must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TrainConfigError(f"{source}: '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise TrainConfigError(f"{source}: '{key}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config field type {tp!r} for '{key}'")
