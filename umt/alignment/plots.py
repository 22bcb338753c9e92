"""Training-curve plots for an alignment run (PNG)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # headless: runs on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from umt.fileio import save_png  # noqa: E402


def plot_training_curves(candidates, path: str | os.PathLike) -> None:
    """Discriminator loss/accuracy and the criterion after each epoch (adversarial), the self-learning
    objective, and the criterion per refinement step."""
    has_adv = any(c.curves.get("adversarial") for c in candidates)
    has_sl = any(c.curves.get("self_learning") for c in candidates)
    panels = (["adversarial"] if has_adv else []) + (["self_learning"] if has_sl else []) + ["refinement"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        twin = None  # the adversarial criterion's own axis
        for i, c in enumerate(candidates):
            if panel == "adversarial" and c.curves.get("adversarial"):
                h = c.curves["adversarial"]
                samples = [e["samples"] for e in h]
                ax.plot(samples, [e["dis_acc"] for e in h], label=f"{c.name} dis. accuracy")
                ax.plot(samples, [e["dis_loss"] for e in h], "--", label=f"{c.name} dis. loss")
                ax.set_xlabel("samples")
                ax.set_title("adversarial training")
                if c.curves.get("adversarial_criteria"):  # the model-selection criterion, on its own scale
                    twin = twin or ax.twinx()
                    twin.plot(c.curves["adversarial_epoch_samples"], c.curves["adversarial_criteria"], "s:",
                              color=f"C{(2 + i) % 10}", label=f"{c.name} criterion (right)")
                    twin.set_ylabel("criterion after each epoch")
                    twin.ticklabel_format(axis="y", useOffset=False)
                    twin.legend(fontsize=7, loc="best")
            elif panel == "self_learning" and c.curves.get("self_learning"):
                ax.plot(range(1, len(c.curves["self_learning"]) + 1), c.curves["self_learning"], label=c.name)
                ax.set_xlabel("iteration")
                ax.set_ylabel("mean best similarity")
                ax.set_title("stochastic self-learning")
            elif panel == "refinement":
                ax.plot(range(len(c.curves["refinement"])), c.curves["refinement"], "o-", label=c.name)
                ax.set_xlabel("refinement iteration (0 = initialisation)")
                ax.set_ylabel("criterion (mean CSLS cosine)")
                ax.set_title("Procrustes refinement")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
