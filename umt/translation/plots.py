"""BLEU-against-steps plot of a back-translation run (PNG)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # headless: runs on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from umt.fileio import atomic_path  # noqa: E402


def plot_bleu(history: list[dict], src: str, tgt: str, path: str | os.PathLike, split: str = "test") -> None:
    """Test BLEU per direction against training steps; the word-by-word baseline as dashed lines."""
    baseline = next((r for r in history if r.get("system") == "word-by-word"), {})
    rows = [r for r in history if r.get("system") is None]
    fig, (ax, ax_rt) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (a, b), color in zip(((src, tgt), (tgt, src)), ("tab:blue", "tab:orange")):
        key = f"{split}_{a}-{b}"
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            ax.plot(*zip(*pts), marker="o", color=color, label=f"{a}->{b}")
        if key in baseline:
            ax.axhline(baseline[key], ls="--", color=color, alpha=0.7, label=f"{a}->{b} word-by-word")
    ax.set(xlabel="training step", ylabel=f"{split} BLEU (sacrebleu)", title="Back-translation vs word-by-word")
    ax.legend(fontsize=8)
    pts = [(r["step"], r["roundtrip"]) for r in rows]
    if pts:
        ax_rt.plot(*zip(*pts), marker="o", color="tab:green", label="model")
    if "roundtrip" in baseline:
        ax_rt.axhline(baseline["roundtrip"], ls="--", color="tab:green", alpha=0.7, label="word-by-word")
    ax_rt.set(xlabel="training step", ylabel="round-trip BLEU (held-out mono)", title="Unsupervised selection metric")
    ax_rt.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
