"""BLEU-against-steps plot of a back-translation run (PNG)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # headless: runs on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from umt.fileio import save_png  # noqa: E402


def plot_bleu(history: list[dict], src: str, tgt: str, path: str | os.PathLike, split: str = "test") -> None:
    """Test BLEU per direction against training steps; the word-by-word baseline as dashed lines.

    When the history holds code lengths (``test_SRC-TGT_bpc``, :math:`L(Y|X)` in bits per
    character), a third panel shows them falling as the source comes to explain the target. A run
    that averages its weights (``averaged`` in its rows) shows the averaged model dotted.
    """
    baseline = next((r for r in history if r.get("system") == "word-by-word"), {})
    rows = [r for r in history if r.get("system") is None]
    with_bits = any(f"{split}_{src}-{tgt}_bpc" in r for r in rows)
    fig, axes = plt.subplots(1, 3 if with_bits else 2, figsize=(15 if with_bits else 10, 3.8))
    ax, ax_rt = axes[0], axes[1]
    for (a, b), color in zip(((src, tgt), (tgt, src)), ("tab:blue", "tab:orange")):
        key = f"{split}_{a}-{b}"
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            ax.plot(*zip(*pts), marker="o", color=color, label=f"{a}->{b}")
        pts = [(r["step"], r["averaged"][key]) for r in rows if key in r.get("averaged", {})]
        if pts:
            ax.plot(*zip(*pts), ls=":", color=color, label=f"{a}->{b} averaged")
        if key in baseline:
            ax.axhline(baseline[key], ls="--", color=color, alpha=0.7, label=f"{a}->{b} word-by-word")
    ax.set(xlabel="training step", ylabel=f"{split} BLEU (sacrebleu)", title="Back-translation vs word-by-word")
    if ax.get_legend_handles_labels()[0]:  # a pair without a parallel test set has no BLEU to show
        ax.legend(fontsize=8)
    pts = [(r["step"], r["roundtrip"]) for r in rows]
    if pts:
        ax_rt.plot(*zip(*pts), marker="o", color="tab:green", label="model")
    pts = [(r["step"], r["averaged"]["roundtrip"]) for r in rows if "averaged" in r]
    if pts:
        ax_rt.plot(*zip(*pts), ls=":", color="tab:green", label="averaged weights")
    if "roundtrip" in baseline:
        ax_rt.axhline(baseline["roundtrip"], ls="--", color="tab:green", alpha=0.7, label="word-by-word")
    ax_rt.set(xlabel="training step", ylabel="round-trip BLEU (held-out mono)", title="Unsupervised selection metric")
    ax_rt.legend(fontsize=8)
    if with_bits:
        for (a, b), color in zip(((src, tgt), (tgt, src)), ("tab:blue", "tab:orange")):
            key = f"{split}_{a}-{b}_bpc"
            pts = [(r["step"], r[key]) for r in rows if key in r]
            if pts:
                axes[2].plot(*zip(*pts), marker="o", color=color, label=f"L({b}|{a})")
        axes[2].set(xlabel="training step", ylabel="bits per character", title="Code length of the reference")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
