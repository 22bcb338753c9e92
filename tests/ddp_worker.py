"""One rank of the DDP test (tests/test_translation.py): a few steps of a tiny model under torchrun."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from umt.translation.data import MTData  # noqa: E402
from umt.translation.model import ModelConfig  # noqa: E402
from umt.translation.train import MTTrainConfig, Trainer  # noqa: E402


def main(prepared: str, out: str, pretrain_steps: str = "0") -> None:
    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64, dropout=0.1)
    cfg = MTTrainConfig(steps=3, batch_size=6, warmup=2, wbw_steps=1, ae_decay_steps=4, max_len=20, model=model,
                        device="cpu", length_buckets=3, pretrain_steps=int(pretrain_steps))
    Path(out).mkdir(parents=True, exist_ok=True)
    trainer = Trainer(MTData.load(prepared), cfg, Path(out) / "run")
    first = trainer.make_batch()
    for _ in range(3):
        trainer.train_step()
    torch.save({"model": trainer.model.state_dict(), "first_batch": first},
               Path(out) / f"rank{trainer.rank}-of-{trainer.world}.pt")
    if trainer.world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
