"""Alignment: learning the map between two embedding spaces (stage 3 of the pipeline)."""

from umt.alignment.align import AlignConfig, AlignResult, align, write_alignment
from umt.alignment.procrustes import RefineConfig, apply_mapping, map_spaces, procrustes, refine
from umt.alignment.spaces import DEFAULT_NORMALIZE, load_mapping, prepare, save_mapping

__all__ = ["DEFAULT_NORMALIZE", "AlignConfig", "AlignResult", "RefineConfig", "align", "apply_mapping",
           "load_mapping", "map_spaces", "prepare", "procrustes", "refine", "save_mapping", "write_alignment"]
