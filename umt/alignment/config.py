"""What ``umt align`` does: the method, its stages' settings, selection, averaging, re-weighting.

Its own module so that the presets (:mod:`umt.alignment.presets`) and the alignment
(:mod:`umt.alignment.align`) both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.procrustes import RefineConfig
from umt.alignment.similarity_init import SelfLearnConfig
from umt.alignment.spaces import DEFAULT_NORMALIZE
from umt.ranges import POSITIVE, CheckedConfig, ranged

SUPERVISED = ("procrustes",)
UNSUPERVISED = ("auto", "similarity", "adversarial", "identical")
METHODS = UNSUPERVISED + SUPERVISED


@dataclass
class AlignConfig(CheckedConfig):
    """What ``umt align`` does.

    ``procrustes`` is supervised by ``dict`` (a file). The others read no dictionary:
    ``identical`` seeds Procrustes with identically spelled words, ``similarity`` and
    ``adversarial`` are unsupervised initialisations, and ``auto`` runs the ``candidates``
    (``INIT:SEED`` items, seeds offset by ``seed``) and keeps the best by the unsupervised criterion.
    Every method ends with ``refine`` (Procrustes refinement selected by the criterion).

    Failure detection: when another seed of the kept initialisation ran (``auto`` with several
    seeds of one kind, or ``check`` with a single one, which adds the next seed), the kept map's
    translations are compared with that replicate's
    (:func:`umt.alignment.criterion.translation_agreement`); independent runs that do not agree
    mean the distributions did not determine the map, and the alignment is reported as failed.
    Without a replicate the verdict is ``unchecked``.

    ``average``: the kept map and its replicates are averaged
    (:func:`umt.alignment.procrustes.average_maps`). Seeds differ by the noise of stochastic
    self-learning, and the mean cancels part of it. ``average_when`` decides whether the average
    replaces the kept map:

    * ``"better"``: when its unsupervised criterion is higher, so a failed replicate cannot make
      the result worse than the kept map by the criterion. Replicates are not filtered by
      agreement: on en-de the best seed agreed with one of the others on under half of the
      frequent words (0.533 at most), and the average without that seed scored lower than the
      kept map.
    * ``"agree"``: the kept map is averaged with the replicates whose translations agree with it
      at least as often as failure detection asks (:data:`AGREEMENT_FAILED_BELOW`), and the
      criterion is not consulted. The average of two seeds straddles their two optima, so its
      orthogonal criterion is lower than the better seed's, yet once re-weighted it is the more
      accurate map, which the criterion cannot see.

    ``reweight``: the last step, after selection and averaging, for every method: VecMap's
    whitening, re-weighting by :math:`s^p` and de-whitening
    (:func:`umt.alignment.reweight.reweighted_maps`) on the dictionary the kept map induces
    (CSLS nearest neighbours in both directions, united, among the ``reweight_words`` most
    frequent words). Both spaces move and the map is no longer orthogonal: dimensions the two
    languages share are stretched, the others shrink. ``None`` keeps the orthogonal map (the
    ``muse`` presets). Its criterion is not comparable with an orthogonal map's, so candidates are
    chosen before it. ``reweight_words``: twice self-learning's vocabulary, which makes seeds agree
    more. ``reweight_rounds``: the step is repeated on the dictionary the re-weighted spaces
    induce; a third round no longer paid on the development split, so the default is 2.
    ``reweight_seed`` (supervised methods only): the first re-weighting learns on the seed
    dictionary itself, as VecMap's ``--supervised`` does, and ``reweight_rounds`` more follow on
    the dictionaries induced from it; refinement is then not needed.
    """

    method: str = "similarity"
    dict: str | None = None
    normalize: str = DEFAULT_NORMALIZE
    refine: RefineConfig = field(default_factory=RefineConfig)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    selflearn: SelfLearnConfig = field(default_factory=SelfLearnConfig)
    candidates: str = "similarity:0,similarity:1,similarity:2,adversarial:0"
    seed: int = 0
    device: str | None = None
    preset: str | None = None
    check: bool = False  # one initialisation only: also run its next seed, to measure agreement
    average: bool = False  # auto: also score the average of the kept map and its replicates
    average_when: str = ranged("better", choices=("better", "agree"))  # which average is kept: see above
    reweight: float | None = ranged(0.5, low=0.0, high=1.0, optional=True)
    reweight_words: int = ranged(20000, POSITIVE)
    reweight_rounds: int = ranged(2, POSITIVE)
    reweight_seed: bool = False
