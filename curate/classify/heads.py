"""Heads of the ``embedding`` scorer: a linear layer or a 2-layer MLP in a safetensors file, applied to the
pooled embedding of an encoder.

FineWeb2-HQ (Messmer et al. 2025, "Enhancing Multilingual LLM Pretraining with Model-Based Data Selection")
puts a 768-256-1 MLP with ReLU on mean-pooled XLM-RoBERTa embeddings; JQL (Ali et al. 2025, "Judging Quality
Across Languages") puts regression heads on Snowflake arctic-embed-m-v2.0 embeddings. Both are small
``torch.nn`` modules saved with their ``state_dict``, so the file names its tensors after the module layout.
:func:`inspect_head` recognises the layout from the names and shapes alone (the file's JSON header; no tensor
is read and nothing heavy is imported, so the driver can check a configuration):

* every tensor is a ``weight`` or a ``bias`` under some prefix: ``weight``/``bias``, ``linear.weight``,
  ``0.weight``/``2.weight`` (``nn.Sequential``), ``fc1.weight``/``fc2.weight``, ``layers.0.weight``,
  ``classifier.dense.weight``/``classifier.out_proj.weight``, ...;
* each prefix holds one 2-D weight ``[out, in]`` (``nn.Linear``) and at most one bias ``[out]``;
* one such layer is a linear head; two are an MLP ``in -> inner -> out`` whose order is the one in which the
  shapes chain (ties: the names' natural order), with ReLU between them unless the file's metadata says
  ``activation`` (relu, gelu, tanh, silu).

Anything else (a norm layer's 1-D weight, a third layer, a bias of the wrong size, layers whose shapes do not
chain, a first layer whose input is not the encoder's hidden size) is a :class:`curate.errors.ConfigError`
naming the file and the shapes.

A head's output becomes one score per text: with one output, the output itself (a regression head); with
several, the outputs are class logits and the score is the expected class ``sum_i softmax_i * i`` (classes
0, 1, 2, ... as in FineWeb-Edu's 0-5 scale). :class:`Head` computes this with numpy
(:meth:`Head.forward_numpy`) or, on the encoder's device, with torch (:meth:`Head.to_torch`; torch is
imported only there).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curate.errors import ConfigError

ACTIVATIONS = ("relu", "gelu", "tanh", "silu")
_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2"}
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


@dataclass(frozen=True)
class Layer:
    """One ``nn.Linear`` of a head: its tensors' names in the file and its shape."""

    weight: str
    bias: str | None
    in_dim: int
    out_dim: int


@dataclass(frozen=True)
class HeadSpec:
    """What a head file holds, read from its header: the layers in order and the activation between them."""

    path: str
    layers: tuple[Layer, ...]
    activation: str = "relu"

    @property
    def in_dim(self) -> int:
        return self.layers[0].in_dim

    @property
    def out_dim(self) -> int:
        return self.layers[-1].out_dim

    def describe(self) -> str:
        dims = [self.in_dim] + [layer.out_dim for layer in self.layers]
        kind = "linear" if len(self.layers) == 1 else f"MLP ({self.activation})"
        return f"{kind} {'-'.join(map(str, dims))}"


def read_header(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, str], int]:
    """The tensors of a safetensors file (name -> ``{"dtype", "shape", "data_offsets"}``), its metadata and
    where its data begins. A file that is not safetensors is a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise ValueError("shorter than a safetensors header")
            (size,) = struct.unpack("<Q", raw)
            if size > _MAX_HEADER:
                raise ValueError(f"header of {size:,} bytes")
            header = json.loads(f.read(size).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except FileNotFoundError:
        raise ConfigError(f"head file not found: {path}") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not a safetensors file ({e})") from None
    metadata = header.pop("__metadata__", None) or {}
    return header, metadata, 8 + size


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _listing(tensors: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{name} {list(info.get('shape', []))}" for name, info in sorted(tensors.items()))


def inspect_head(path: str | Path, hidden_size: int | None = None, encoder: str = "the encoder") -> HeadSpec:
    """The layout of a head file (see the module docstring), checked against the encoder's hidden size when
    it is known. Reads only the header."""
    path = str(path)
    tensors, metadata, _ = read_header(path)

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{path}: {why}; a head is a linear layer (weight [out, in], bias [out]) or a 2-layer "
                           f"MLP of two; the file holds: {_listing(tensors) or 'no tensors'}")

    if not tensors:
        raise bad("no tensors")
    groups: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for name, info in tensors.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf not in ("weight", "bias"):
            raise bad(f"tensor {name!r} is neither a weight nor a bias")
        if info.get("dtype") not in _NUMPY_DTYPES:
            raise bad(f"tensor {name!r} has dtype {info.get('dtype')} (curate reads F32, F16, BF16, F64)")
        groups.setdefault(prefix, {})[leaf] = (name, info)
    layers = []
    for prefix in sorted(groups, key=_natural):
        group = groups[prefix]
        if "weight" not in group:
            raise bad(f"bias {group['bias'][0]!r} has no weight")
        wname, winfo = group["weight"]
        shape = list(winfo["shape"])
        if len(shape) != 2 or min(shape) < 1:
            raise bad(f"weight {wname!r} has shape {shape}, not [out, in] (a norm layer is not supported)")
        out_dim, in_dim = shape
        bname = None
        if "bias" in group:
            bname, binfo = group["bias"]
            if list(binfo["shape"]) not in ([out_dim], [] if out_dim == 1 else [out_dim]):
                raise bad(f"bias {bname!r} has shape {list(binfo['shape'])}, expected [{out_dim}] for weight "
                          f"{wname!r} {shape}")
        layers.append(Layer(wname, bname, in_dim, out_dim))
    if len(layers) > 2:
        raise bad(f"{len(layers)} linear layers")
    if len(layers) == 2:
        orders = [o for o in (layers, layers[::-1]) if o[0].out_dim == o[1].in_dim]
        if not orders:
            raise bad(f"the two layers do not chain ({layers[0].weight} {[layers[0].out_dim, layers[0].in_dim]}, "
                      f"{layers[1].weight} {[layers[1].out_dim, layers[1].in_dim]})")
        if hidden_size is not None and len(orders) == 2:
            orders = [o for o in orders if o[0].in_dim == hidden_size] or orders
        layers = list(orders[0])
    activation = str(metadata.get("activation", "relu")).lower()
    if activation not in ACTIVATIONS:
        raise ConfigError(f"{path}: metadata activation {activation!r} is not one of: {', '.join(ACTIVATIONS)}")
    spec = HeadSpec(path, tuple(layers), activation)
    if hidden_size is not None and spec.in_dim != hidden_size:
        first = spec.layers[0]
        raise ConfigError(f"{path}: the head takes {first.in_dim}-dim input (weight {first.weight!r} has shape "
                          f"[{first.out_dim}, {first.in_dim}]) but {encoder} has hidden size {hidden_size}: "
                          f"expected weight shape [{first.out_dim}, {hidden_size}]; is it the head of another "
                          "encoder?")
    return spec


def _read_array(f: Any, data_start: int, info: dict[str, Any]) -> np.ndarray:
    begin, end = info["data_offsets"]
    f.seek(data_start + begin)
    raw = f.read(end - begin)
    values = np.frombuffer(raw, dtype=_NUMPY_DTYPES[info["dtype"]])
    if info["dtype"] == "BF16":  # bfloat16 is the upper half of a float32
        values = (values.astype(np.uint32) << 16).view(np.float32)
    shape = tuple(info["shape"])
    if values.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"{values.size} values for shape {list(shape)}")
    return values.astype(np.float32).reshape(shape)


@dataclass(frozen=True)
class Head:
    """A loaded head: float32 ``(weight [out, in], bias [out])`` per layer."""

    spec: HeadSpec
    params: tuple[tuple[np.ndarray, np.ndarray], ...]

    def forward_numpy(self, x: np.ndarray) -> np.ndarray:
        """One score per row of ``x`` (``[n, in]`` pooled embeddings), float64."""
        h = np.asarray(x, dtype=np.float64)
        for i, (weight, bias) in enumerate(self.params):
            if i:
                h = _NUMPY_ACTIVATIONS[self.spec.activation](h)
            h = h @ weight.T.astype(np.float64) + bias
        if h.shape[1] == 1:
            return h[:, 0]
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return p @ np.arange(h.shape[1], dtype=np.float64)

    def to_torch(self, device: Any) -> Callable[[Any], Any]:
        """The head as a torch function of pooled embeddings ``[n, in]`` -> scores ``[n]``, float32 on
        ``device`` (the input is cast to float32: the head costs nothing next to the encoder)."""
        import torch
        import torch.nn.functional as F  # noqa: N812 - torch's own convention

        params = [(torch.from_numpy(w.copy()).to(device), torch.from_numpy(b.copy()).to(device))
                  for w, b in self.params]
        activation = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}[self.spec.activation]
        classes = torch.arange(self.spec.out_dim, dtype=torch.float32, device=device)

        def forward(x: torch.Tensor) -> torch.Tensor:
            h = x.float()
            for i, (weight, bias) in enumerate(params):
                if i:
                    h = activation(h)
                h = F.linear(h, weight, bias)
            if h.shape[1] == 1:
                return h[:, 0]
            return torch.softmax(h, dim=1) @ classes

        return forward


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import erf, sqrt

    return x * 0.5 * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


_NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": _gelu,
    "tanh": np.tanh,
    "silu": lambda x: x / (1.0 + np.exp(-x)),
}


def load_head(spec_or_path: HeadSpec | str | Path, hidden_size: int | None = None) -> Head:
    """Read a head's tensors (float32, whatever the file's float dtype) for the layout of :func:`inspect_head`."""
    spec = spec_or_path if isinstance(spec_or_path, HeadSpec) else inspect_head(spec_or_path, hidden_size)
    tensors, _, data_start = read_header(spec.path)
    params = []
    try:
        with open(spec.path, "rb") as f:
            for layer in spec.layers:
                weight = _read_array(f, data_start, tensors[layer.weight])
                bias = (_read_array(f, data_start, tensors[layer.bias]).reshape(layer.out_dim)
                        if layer.bias else np.zeros(layer.out_dim, dtype=np.float32))
                params.append((weight, bias))
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{spec.path}: cannot read the head's tensors ({e})") from None
    return Head(spec, tuple(params))
