"""Allowed values of config fields, checked whenever a field is set.

A field declared with :func:`ranged` carries its :class:`Range` in its metadata. Each config
(alignment stages, embedding training, MT and language-model training, the pipeline) derives from
:class:`CheckedConfig`, which checks a field's value whenever it is set: when the config is built
(``SelfLearnConfig(interval=0)`` in a notebook, a preset, ``dataclasses.replace``, a saved config
read back, ``umt align --sl-interval 0``) and when it is assigned later
(``cfg.selflearn.interval = 0``). All are refused by the same rule: one line naming the field (the
CLI names the option instead) and what was expected, before any work starts. An earlier silent
failure: ``umt embed train --epoch -1`` trained nothing and wrote vectors anyway.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any

from umt.errors import UmtError


class ConfigError(UmtError, ValueError):
    """A config field holds a value outside its allowed range (``field``, ``value``, ``problem``:
    the parts of the message, so the CLI can name the option the user typed instead)."""

    def __init__(self, message: str, field: str | None = None, value: Any = None, problem: str | None = None):
        super().__init__(message)
        self.field, self.value, self.problem = field, value, problem


@dataclass(frozen=True)
class Range:
    """``low``/``high`` bound a number (``*_open``: the bound itself is excluded); ``choices``
    lists the allowed strings; ``optional``: ``None`` is allowed too."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    optional: bool = False
    integer: bool = False

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` ("expected ..."), or ``None`` when it is allowed."""
        if value is None:
            return None if self.optional else "expected a value"
        if self.choices is not None:
            return None if value in self.choices else f"expected one of {', '.join(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "expected a whole number" if self.integer else "expected a number"
        if self.integer and not isinstance(value, numbers.Integral):
            return "expected a whole number"
        if not math.isfinite(value):
            return "expected a finite number"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if not (too_low or too_high):
            return None
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return f"expected a value {' and '.join(p for p in (low, high) if p)}"


POSITIVE = Range(low=1, integer=True)  # counts of words, iterations, epochs ...
NON_NEGATIVE = Range(low=0, integer=True)
OPTIONAL_POSITIVE = Range(low=1, integer=True, optional=True)  # None: no limit
PROBABILITY_TO_DROP = Range(low=0.0, high=1.0, high_open=True)  # a dropout rate of 1 drops everything
FRACTION = Range(low=0.0, high=1.0, low_open=True)  # a multiplier that shrinks, never to 0


def ranged(default: Any, allowed: Range | None = None, **bounds: Any) -> Any:
    """A dataclass field with ``default`` and its allowed values (``allowed``, or ``Range(**bounds)``)."""
    return field(default=default, metadata={"range": allowed if allowed is not None else Range(**bounds)})


def range_of(config: type, name: str) -> Range | None:
    """The :class:`Range` of field ``name`` of the dataclass ``config`` (``None``: unchecked)."""
    return _ranges(config).get(name)


def check_field(config: type, name: str, value: Any) -> None:
    """Raise :class:`ConfigError` when ``value`` is outside the range of field ``name`` of ``config``."""
    allowed = range_of(config, name)
    problem = allowed.problem(value) if allowed is not None else None
    if problem:
        raise ConfigError(f"{config.__name__}.{name} = {value!r}: {problem}", name, value, problem)


@functools.cache
def _ranges(config: type) -> dict[str, Range]:
    return {f.name: f.metadata["range"] for f in fields(config) if "range" in f.metadata}


class CheckedConfig:
    """Base of umt's config dataclasses: every field with a range is checked whenever it is set,
    while the config is built and afterwards. Fields that constrain each other are checked by
    :meth:`check_together`, after construction and after each later assignment (a refused
    assignment leaves the config as it was)."""

    def __setattr__(self, name: str, value: Any) -> None:
        check_field(type(self), name, value)
        if not self.__dict__.get("_built"):
            object.__setattr__(self, name, value)
            return
        old = getattr(self, name)
        object.__setattr__(self, name, value)
        try:
            self.check_together(changed=name)
        except ConfigError:
            object.__setattr__(self, name, old)
            raise

    def __post_init__(self) -> None:
        self.check_together()
        object.__setattr__(self, "_built", True)

    def check_together(self, changed: str | None = None) -> None:
        """Raise :class:`ConfigError` when fields are allowed one by one but not together;
        ``changed``: the field just assigned, which the message names (``None`` while building)."""


def check_option(flag: str, value: Any, allowed: Range | None) -> None:
    """``UmtError`` "FLAG VALUE: expected ..." when ``value``, given as the option or argument
    ``flag``, is outside ``allowed``; a config would refuse an option's value too, but naming its
    field rather than the option the user typed."""
    problem = allowed.problem(value) if allowed is not None else None
    if problem:
        raise UmtError(f"{flag} {value}: {problem}")


def seed_option(text: str) -> int:
    """``--seed`` on the command line: an integer that numpy and torch both accept."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{text}: expected a seed between 0 and {2**32 - 1}")
    return value


def device_option(text: str) -> str:
    """``--device`` on the command line: a name torch knows (``cpu``, ``cuda``, ``cuda:1``...)."""
    import argparse

    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device: expected cpu, cuda or cuda:N") from None
    return text


def setting_differences(old: dict, new: dict, prefix: tuple = (), free: set = frozenset(),
                        defaults: dict | None = None) -> list[str]:
    """The settings that differ between two nested configs read back from JSON, as ``key old -> new``.

    The ``free`` ones (paths, or their last two keys) may differ. A setting only one side has was
    added or dropped by another version of umt: without ``defaults`` it is passed over (its default
    is the behaviour of the day); with them, only one that ``new`` adds at its default is.
    """
    out = []
    for key in sorted(set(old) | set(new)):
        path = (*prefix, key)
        if key not in old or key not in new:
            if defaults is None or (key not in old and new[key] == defaults.get(key)):
                continue
            out.append(f"{'.'.join(path)} {old.get(key, '(absent)')!r} -> {new.get(key, '(absent)')!r}")
            continue
        a, b = old[key], new[key]
        if isinstance(a, dict) and isinstance(b, dict):
            inner = None if defaults is None else defaults.get(key) if isinstance(defaults.get(key), dict) else {}
            out += setting_differences(a, b, path, free, inner)
        elif a != b and path[-2:] not in free and path not in free:
            out.append(f"{'.'.join(path)} {a!r} -> {b!r}")
    return out
