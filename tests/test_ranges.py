"""Config fields refuse values outside their ranges when the config is built or a field is set
later, in a notebook as on the command line."""

from dataclasses import fields, replace

import numpy as np
import pytest

from umt.alignment import AlignConfig, RefineConfig
from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.presets import PRESETS, preset
from umt.alignment.similarity_init import SelfLearnConfig
from umt.embeddings.train import EmbedTrainConfig
from umt.errors import UmtError
from umt.information.lm import LMTrainConfig
from umt.pipeline import FULL_EMBED, QUICK_EMBED, PipelineConfig
from umt.ranges import ConfigError, Range
from umt.translation.model import ModelConfig
from umt.translation.noise import NoiseConfig
from umt.translation.train import MTTrainConfig

CONFIGS = (AdversarialConfig, SelfLearnConfig, RefineConfig, AlignConfig, EmbedTrainConfig, ModelConfig, NoiseConfig,
           MTTrainConfig, LMTrainConfig, PipelineConfig)


def outside(allowed: Range):
    """Values just outside ``allowed``, one per bound it has."""
    if allowed.choices is not None:
        return ["nonsense"]
    values = []
    if allowed.low is not None:
        values.append(allowed.low if allowed.low_open else allowed.low - (1 if allowed.integer else 1e-3))
    if allowed.high is not None:
        values.append(allowed.high if allowed.high_open else allowed.high + 1e-3)
    if allowed.integer:
        values.append(2.5)
    return values + [float("nan"), "3"]


CASES = [(config, f.name, value) for config in CONFIGS for f in fields(config) if "range" in f.metadata
         for value in outside(f.metadata["range"])]


def test_every_setting_that_can_be_wrong_has_a_range():
    unchecked = {(c.__name__, f.name) for c in CONFIGS for f in fields(c)
                 if "range" not in f.metadata and f.type not in ("bool", bool)}
    # free-form fields, checked where they are read (method, dictionary, languages, paths, devices),
    # seeds (any integer) and nested configs (checked on their own)
    assert unchecked == {
        *(("AlignConfig", n) for n in ("method", "dict", "normalize", "refine", "adversarial", "selflearn",
                                       "candidates", "seed", "device", "preset")),
        *(("MTTrainConfig", n) for n in ("seed", "device", "noise", "model")),
        ("LMTrainConfig", "seed"), ("LMTrainConfig", "model"),
        *(("PipelineConfig", n) for n in ("src", "tgt", "embed", "data", "cache", "src_corpus", "tgt_corpus",
                                          "test_dict", "train_dict"))}
    assert len(CASES) > 150


@pytest.mark.parametrize("config, name, value", CASES, ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in CASES])
def test_a_value_outside_the_range_is_refused_naming_the_field(config, name, value):
    with pytest.raises(ConfigError, match=rf"^{config.__name__}\.{name} = .*: expected "):
        config(**{name: value})
    with pytest.raises(ConfigError):  # replace() builds a new config: the same check
        replace(config(), **{name: value})
    built = config()
    before = getattr(built, name)
    with pytest.raises(ConfigError, match=rf"^{config.__name__}\.{name} = "):  # set after construction
        setattr(built, name, value)
    assert getattr(built, name) == before or before != before  # left as it was (NaN defaults aside)


def test_defaults_presets_and_bounds_themselves_are_accepted():
    for config in CONFIGS:
        config()
    for name in PRESETS:
        preset(name)
    assert QUICK_EMBED.dim == 100 and FULL_EMBED.dim == 300
    assert SelfLearnConfig(interval=1, multiplier=1.01, initial_keep=1.0).interval == 1
    assert AdversarialConfig(smoothing=0.5, dis_dropout=0.0, lr_decay=1.0, dis_layers=0).smoothing == 0.5
    assert RefineConfig(iterations=0, patience=0, build="union", method="nn").iterations == 0
    assert AlignConfig(reweight=None).reweight is None and AlignConfig(reweight=1.0).reweight == 1.0
    # numpy scalars from a notebook's arrays are numbers like any other
    assert SelfLearnConfig(cutoff=np.int64(5000), initial_keep=np.float32(0.2)).cutoff == 5000


def test_range_messages():
    assert Range(low=1, integer=True).problem(0) == "expected a value >= 1"
    assert Range(low=0.0, high=1.0, high_open=True).problem(1.0) == "expected a value >= 0 and < 1"
    assert Range(low=1, integer=True).problem(True) == "expected a whole number"
    assert Range(low=0.0).problem(float("inf")) == "expected a finite number"
    assert Range(choices=("a", "b")).problem("c") == "expected one of a, b"
    assert Range(low=0.0).problem(None) == "expected a value" and Range(optional=True).problem(None) is None
    assert issubclass(ConfigError, UmtError) and issubclass(ConfigError, ValueError)


def test_settings_that_contradict_each_other_are_refused():
    with pytest.raises(ConfigError, match="minn = 6: expected at most maxn"):
        EmbedTrainConfig(minn=6, maxn=5)  # fastText would train without character n-grams, silently
    assert EmbedTrainConfig(minn=6, maxn=0).maxn == 0  # maxn 0 is how n-grams are switched off
    with pytest.raises(ConfigError, match="dim = 100: expected a multiple of heads"):
        ModelConfig(dim=100, heads=3)
    with pytest.raises(ConfigError, match="dim = 100"):
        MTTrainConfig.from_dict({"model": {"dim": 100, "heads": 3}})  # a saved config is checked when read


def test_a_later_assignment_that_contradicts_another_field_is_refused_and_undone():
    model = ModelConfig(dim=256, heads=4)
    with pytest.raises(ConfigError, match=r"ModelConfig\.heads = 7: expected a divisor of dim \(256\)"):
        model.heads = 7  # the message names the field just set
    assert model.heads == 4
    with pytest.raises(ConfigError, match=r"ModelConfig\.dim = 250: expected a multiple of heads \(4\)"):
        model.dim = 250
    assert model.dim == 256
    model.heads = 8  # allowed on its own and with dim
    assert model.heads == 8
    embed = EmbedTrainConfig(minn=3, maxn=6)
    with pytest.raises(ConfigError, match=r"EmbedTrainConfig\.maxn = 2: expected at least minn \(3\)"):
        embed.maxn = 2
    assert embed.maxn == 6
    with pytest.raises(ConfigError, match=r"EmbedTrainConfig\.minn = 7: expected at most maxn \(6\)"):
        embed.minn = 7
    assert embed.minn == 3
    nested = AlignConfig()
    with pytest.raises(ConfigError, match=r"SelfLearnConfig\.interval = 0"):
        nested.selflearn.interval = 0
    assert nested.selflearn.interval == SelfLearnConfig().interval
