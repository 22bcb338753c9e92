"""Throughput of one back-translation training step on this machine: tokens per second, and where
the time goes (building the batch, which includes the on-the-fly greedy back-translation, against
the forward, backward and optimiser passes); or of one masked-LM pretraining step (``--phase
masked-lm``, whose tokens are the masked pieces it predicts).

    python experiments/mt_throughput.py --prepared runs/mt/en-fr/data --out results/mt_throughput
    python experiments/mt_throughput.py --prepared ... --buckets 1,2,4,8 --threads 1,2
    python experiments/mt_throughput.py --prepared ... --phase masked-lm --buckets 1,4
    python experiments/mt_throughput.py --prepared ... --precision bfloat16,float32

Each setting runs ``--warmup`` untimed steps, then ``--steps`` timed ones, from the same weights
(the cross-lingual initialisation) at step ``--at`` (past the word-by-word steps, so the
back-translations are the model's own greedy output). Tokens are target tokens, padding excluded,
as ``umt mt train``'s progress bar counts them. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import run_script  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402


def measure(prepared: str, buckets: int, threads: int, batch_size: int, steps: int, warmup: int, at: int,
            compiled: bool = False, phase: str = "translation", amp: bool = True) -> dict:
    import torch

    from umt.translation.data import MTData
    from umt.translation.train import MTTrainConfig, Trainer

    torch.set_num_threads(threads)
    # translation steps (denoising and back-translation) are timed with no masked-LM phase before them
    masked_lm = phase == "masked-lm"
    cfg = MTTrainConfig(batch_size=batch_size, device="cpu", eval_test=False, amp=amp,
                        pretrain_steps=at + warmup + steps + 1 if masked_lm else 0)
    if hasattr(cfg, "length_buckets"):  # absent from the code before length buckets: measures that code
        cfg.length_buckets = buckets
    data = MTData.load(prepared, cfg.max_len)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(data, cfg, tmp)
    batch_seconds = []
    make_batch = trainer.make_batch

    def timed_make_batch():
        t = time.perf_counter()
        out = make_batch()
        batch_seconds.append(time.perf_counter() - t)
        return out

    trainer.make_batch = timed_make_batch
    if compiled:  # the training forward pass only; generation keeps its eager KV-cache loop
        trainer.net = torch.compile(trainer.model, dynamic=True)
    tokens, total = 0, 0.0
    for i in range(warmup + steps):
        trainer.step = at + i
        t = time.perf_counter()
        losses = trainer.masked_lm_step() if masked_lm else trainer.train_step()
        if i >= warmup:
            total += time.perf_counter() - t
            tokens += losses["tokens"]
    batch = sum(batch_seconds[warmup:])
    precision = getattr(trainer, "precision", "float32")  # absent from the code before bfloat16 on the CPU
    return {"phase": phase, "buckets": buckets, "threads": threads, "compiled": compiled, "precision": precision,
            "batch_size": batch_size,
            "steps": steps,
            "seconds_per_step": round(total / steps, 3), "batch_and_back_translation_s": round(batch / steps, 3),
            "learn_s": round((total - batch) / steps, 3), "tokens_per_step": round(tokens / steps, 1),
            "tokens_per_second": round(tokens / total, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepared", required=True, help="a folder written by `umt mt prepare`")
    ap.add_argument("--buckets", default="1,4", help="comma-separated length_buckets settings (default %(default)s)")
    ap.add_argument("--threads", default="2", help="comma-separated torch thread counts (default %(default)s)")
    ap.add_argument("--compile", default="0", help="comma-separated: 0 eager, 1 torch.compile of the training "
                    "forward pass (dynamic shapes; compiling happens in the warm-up steps) (default %(default)s)")
    ap.add_argument("--precision", default="bfloat16",
                    help="comma-separated: bfloat16 (training's default: autocast where this CPU computes bfloat16 "
                    "natively, else float32, as the row says), float32 (default %(default)s)")
    ap.add_argument("--phase", choices=("translation", "masked-lm"), default="translation",
                    help="the step to time: denoising and back-translation, or masked-LM pretraining "
                    "(default %(default)s)")
    ap.add_argument("--batch-size", type=int, default=48)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--at", type=int, default=1000, help="training step to time (default %(default)s)")
    ap.add_argument("--out", default="results/mt_throughput", help="writes OUT.json and OUT.md")
    a = ap.parse_args(argv)
    precisions = a.precision.split(",")
    for precision in precisions:
        if precision not in ("bfloat16", "float32"):
            raise SystemExit(f"--precision {precision}: expected bfloat16 or float32")
    rows = []
    for threads in (int(t) for t in a.threads.split(",")):
        for buckets in (int(b) for b in a.buckets.split(",")):
            for compiled in (bool(int(c)) for c in a.compile.split(",")):
                for precision in precisions:
                    row = measure(a.prepared, buckets, threads, a.batch_size, a.steps, a.warmup, a.at, compiled,
                                  a.phase, amp=precision == "bfloat16")
                    print(row, flush=True)
                    rows.append(row)
    write_json(f"{a.out}.json", {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
                                 "date": time.strftime("%Y-%m-%d %H:%M"), "prepared": a.prepared, "rows": rows})
    lines = ["| phase | threads | length buckets | compiled | precision | s/step | of it: batch + back-translation "
             "| learn | tokens/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['phase']} | {r['threads']} | {r['buckets']} | {'yes' if r['compiled'] else 'no'} | "
              f"{r.get('precision', 'float32')} | "
              f"{r['seconds_per_step']:.2f} | "
              f"{r['batch_and_back_translation_s']:.2f} | {r['learn_s']:.2f} | {r['tokens_per_second']:.0f} |"
              for r in rows]
    write_text(f"{a.out}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    run_script(main, "mt_throughput")
