"""Read seisdec datasets and models from Python: NumPy alone, PyTorch optional.

seisdec writes plain files (.npy, .csv, .json, safetensors with PyTorch state-dict names), so
Python needs no seisdec code to read them; this module saves the bookkeeping. It gives:

- ``load_dataset(ds)``: the spectrograms (normalised as a model was trained, or raw), the
  ``samples.csv`` rows, the frequency and time axes and ``meta.json``;
- ``read_safetensors(path)``: a safetensors file as NumPy arrays, without the safetensors package;
- ``load_model(model_dir)``: a model directory's architecture and weights for the same stage
  ``cluster`` and ``encode`` use (``auto``: the DEC weights after ``finetune``, the centres of
  ``init`` before it, the pretrained encoder before that);
- ``encode(model, x)`` and ``soft_assign(z, centroids, alpha)``: the latent codes and Student's-t
  soft assignments q in NumPy, as ``latent.npy`` and ``q.npy`` hold them; ``reconstruct(model,
  x)``: the decoder's output;
- ``load_clusters(out_dir)``: what ``cluster`` wrote: codes, q, labels, events and
  result.json (its clusters.csv, umap.csv, episodes.csv and evaluation.json read with csv and
  json);
- ``decoder_plan(h, w)``: the decoder's paddings and crop for an input size;
- ``torch_autoencoder(model)``: the whole autoencoder as a PyTorch module with the weights
  loaded (``module.encoder(x)``, ``module(x)`` for the reconstruction), to go on in PyTorch;
- ``new_model(input_shape)`` and ``save_model(dir, model, weights)``: an autoencoder trained in
  PyTorch (or anywhere) written as a model directory that seisdec's ``init``, ``finetune`` and
  ``cluster`` take as if ``pretrain`` had made it.

Usage (Python 3.9+, NumPy; PyTorch only for ``torch_autoencoder``)::

    import sys; sys.path.insert(0, "path/to/seisdec/lib/io")
    import seisdec
    model = seisdec.load_model("work/model")
    x, samples, freqs, times, meta = seisdec.load_dataset("work/ds", normalize=model.normalize)
    z = seisdec.encode(model, x)                       # as cluster's latent.npy
    q = seisdec.soft_assign(z, model.centroids, model.alpha)
    labels = q.argmax(1)                               # as labels.csv

The layers, as seisdec builds them (lib/nn/autoencoder.ts): encoder five Conv2d (k3, s2, p1),
then Flatten, Linear to the latent size; decoder Linear, Unflatten, five ConvTranspose2d (k3, s2,
paddings from ``decoder_plan``) and a crop; LeakyReLU after every Linear and convolution. The
``init`` stage multiplies the latent Linear of the pretrained weights by the latent scale that
``init`` chose (``model.json``'s ``init.latentScale``), and divides the decoder's first Linear by
it, as seisdec does.
"""

import csv
import hashlib
import json
import os
import struct

import numpy as np

__all__ = [
    "Model",
    "decoder_plan",
    "encode",
    "load_clusters",
    "load_dataset",
    "load_model",
    "new_model",
    "normalize_samples",
    "read_safetensors",
    "reconstruct",
    "save_model",
    "soft_assign",
    "torch_autoencoder",
    "write_safetensors",
]

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def read_safetensors(path):
    """Returns ({name: array}, metadata) of a safetensors file (its ``__metadata__`` strings)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"Cannot read {path}: it is {len(raw)} bytes, shorter than a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"Cannot read {path}: its header claims {n} bytes, more than the file holds")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, t in header.items():
        if t["dtype"] not in _DTYPES:
            raise ValueError(f"Cannot read {path}: tensor {name} has dtype {t['dtype']}, not one of {sorted(_DTYPES)}")
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out, meta


def normalize_samples(x, mode):
    """Normalises each sample of ``x`` [N, ...] as seisdec's readBatch does (a float32 copy):
    ``maxabs`` divides by the largest |value|, ``l2`` by the L2 norm, ``minmax`` maps onto
    [0, 1], ``none`` leaves it; an all-zero (for minmax: constant) sample becomes zero."""
    x = np.array(x, dtype=np.float32, copy=True)
    if mode == "none" or len(x) == 0:
        if mode not in ("maxabs", "l2", "minmax", "none"):
            raise ValueError(f"Cannot normalise: mode must be maxabs, l2, minmax or none: found {mode!r}")
        return x
    flat = x.reshape(len(x), -1)
    if mode == "minmax":
        lo = flat.min(1, keepdims=True)
        r = flat.max(1, keepdims=True) - lo
        flat[:] = np.where(r > 0, (flat - lo) / np.where(r > 0, r, 1), 0)
        return x
    if mode == "maxabs":
        s = np.abs(flat).max(1, keepdims=True)
    elif mode == "l2":
        s = np.sqrt((flat.astype(np.float64) ** 2).sum(1, keepdims=True)).astype(np.float32)
    else:
        raise ValueError(f"Cannot normalise: mode must be maxabs, l2, minmax or none: found {mode!r}")
    ok = (s > 0) & np.isfinite(s)
    flat *= np.where(ok, 1 / np.where(ok, s, 1), 1).astype(np.float32)
    return x


def load_dataset(ds, normalize=None, indices=None):
    """Reads a seisdec dataset directory.

    Returns (x, samples, freqs, times, meta): x is [N, C, F, T] float32, normalised per sample
    by ``normalize`` (a model's ``normalize``; None: as stored, memory-mapped and read-only),
    only the rows ``indices`` when given; samples the rows of ``samples.csv`` as dicts of
    strings (a location "00" stays "00"). With ``normalize``, a sample holding NaN or an infinity
    is refused (ValueError naming it), as seisdec refuses it."""
    meta_path = os.path.join(ds, "meta.json")
    if not os.path.exists(meta_path):
        raise FileNotFoundError(f"Cannot read dataset {ds}: it has no meta.json")
    with open(meta_path, encoding="utf-8-sig") as f:
        meta = json.load(f)
    x = np.load(os.path.join(ds, "spectrograms.npy"), mmap_mode="r")
    with open(os.path.join(ds, "samples.csv"), newline="", encoding="utf-8-sig") as f:
        samples = list(csv.DictReader(f))
    if indices is not None:
        x = x[np.asarray(indices)]
        samples = [samples[i] for i in indices]
    if normalize is not None:
        # As seisdec refuses such a sample (its codes would all be NaN), naming it.
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(1) if len(x) else np.zeros(0, bool)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"Cannot read dataset {ds}: sample {samples[i].get('id')} (row {i}) holds "
                             "a value that is not finite: expected finite values")
        x = normalize_samples(x, normalize)
    freqs = np.load(os.path.join(ds, "freqs.npy"))
    times = np.load(os.path.join(ds, "times.npy"))
    return x, samples, freqs, times, meta


def load_clusters(out_dir):
    """Reads the output directory of ``cluster`` (or ``encode``): a dict with ``latent`` [N, D],
    ``q`` [N, k] (None for encode or ``--raw``), ``rows`` (labels.csv, or encode's samples.csv,
    as dicts of strings: id, ..., cluster, confidence, label, event, margin), ``labels`` (the clusters as
    an int array, None for encode), ``events`` (events.csv's rows, each with ``ids`` split into a
    list, or None where the dataset has no events) and ``result`` (result.json)."""
    def rows_of(name):
        path = os.path.join(out_dir, name)
        if not os.path.exists(path):
            return None
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))

    if not os.path.exists(os.path.join(out_dir, "latent.npy")):
        raise FileNotFoundError(f"Cannot read {out_dir}: it has no latent.npy (run cluster or encode)")
    rows = rows_of("labels.csv")
    labelled = rows is not None
    if rows is None:
        rows = rows_of("samples.csv") or []
    q_path = os.path.join(out_dir, "q.npy")
    events = rows_of("events.csv")
    if events is not None:
        for e in events:
            e["ids"] = e["ids"].split(" ") if e["ids"] else []
    with open(os.path.join(out_dir, "result.json"), encoding="utf-8-sig") as f:
        result = json.load(f)
    return {
        "latent": np.load(os.path.join(out_dir, "latent.npy")),
        "q": np.load(q_path) if os.path.exists(q_path) else None,
        "rows": rows,
        "labels": np.array([int(r["cluster"]) for r in rows]) if labelled else None,
        "events": events,
        "result": result,
    }


def decoder_plan(h, w, depth=5):
    """The decoder of an h x w input, as lib/nn/autoencoder.ts's decoderPlan derives it: a dict
    of encoder_sizes, paddings, output_paddings, decoder_sizes and crop (top, bottom, left,
    right)."""
    enc, s = [], (h, w)
    for _ in range(depth):
        s = tuple((v + 2 - 3) // 2 + 1 for v in s)
        enc.append(s)
    paddings, ops, dec, cur = [], [], [], enc[-1]
    for i in range(depth):
        target = (h, w) if i == depth - 1 else enc[depth - 2 - i]
        p, op, out = [1, 1], [0, 0], [0, 0]
        for a in (0, 1):
            with1 = 2 * cur[a] - 1
            if (i == 0 and depth > 1) or with1 >= target[a]:
                p[a] = 1
            else:
                p[a] = 0
                if with1 + 2 < target[a]:
                    op[a] = 1
            out[a] = 2 * cur[a] + 1 - 2 * p[a] + op[a]
        paddings.append(tuple(p))
        ops.append(tuple(op))
        dec.append(tuple(out))
        cur = tuple(out)
    ex_h, ex_w = cur[0] - h, cur[1] - w
    if ex_h < 0 or ex_w < 0:
        raise ValueError(f"Cannot plan decoder: output {cur[0]}x{cur[1]} is smaller than input {h}x{w}")
    return {
        "encoder_sizes": enc,
        "paddings": paddings,
        "output_paddings": ops,
        "decoder_sizes": dec,
        "crop": (ex_h // 2, ex_h - ex_h // 2, ex_w // 2, ex_w - ex_w // 2),
    }


class Model:
    """A seisdec model directory, read for one stage (see ``load_model``).

    Attributes: ``config`` (``model.json``), ``stage`` ("dec", "init" or "pretrain"),
    ``input_shape`` [C, F, T], ``latent_dim``, ``channels``, ``slope``, ``normalize``,
    ``weights`` ({PyTorch state-dict name: float32 array}, encoder and decoder, scaled for the
    stage), ``centroids`` [k, D] (None for "pretrain") and ``alpha``."""

    def __init__(self, config, stage, weights, centroids, alpha):
        ae = config["autoencoder"]
        self.config = config
        self.stage = stage
        self.input_shape = list(ae["inputShape"])
        self.latent_dim = int(ae.get("latentDim", 9))
        self.channels = list(ae.get("channels", [8, 16, 32, 64, 128]))
        self.slope = float(ae.get("slope", 0.02))
        self.normalize = config.get("normalize", "maxabs")
        self.weights = weights
        self.centroids = centroids
        self.alpha = alpha

    def __repr__(self):
        k = "none" if self.centroids is None else len(self.centroids)
        return (f"Model(stage={self.stage!r}, input_shape={self.input_shape}, latent_dim={self.latent_dim}, "
                f"k={k}, normalize={self.normalize!r})")


def _digest(path):
    """``sha256:`` and the hex digest of a file, as seisdec's saveWeights returns it."""
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def _check_weights_record(model_dir, config, name, stage):
    """Refuses a weights file other than the one model.json's stage record describes (its
    ``weights`` digest), as seisdec's checkWeightsRecord does; a record without one is not
    checked."""
    recorded = (config.get(stage) or {}).get("weights")
    path = os.path.join(model_dir, name)
    if isinstance(recorded, str) and recorded != _digest(path):
        raise ValueError(f"Cannot use {path}: it is not the file model.json's {stage} record "
                         f"describes: {stage} did not finish writing, or the file was replaced: "
                         f"run {stage} again")


def _stage_file(model_dir, config, name, scale):
    """Reads centroids.safetensors or dec.safetensors, refusing one that model.json does not
    describe (a run killed between writing the two), as seisdec's checkStageRecord does; returns
    its tensors."""
    path = os.path.join(model_dir, name)
    stage = "finetune" if name == "dec.safetensors" else "init"
    fix = ("fine-tuning did not finish: run finetune --resume (or finetune --force)" if stage == "finetune"
           else "init did not finish: run init again")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot use {path}: it is missing: run {stage}")
    tensors, meta = read_safetensors(path)
    ft = config.get("finetune")
    if stage == "finetune" and not ft:
        raise ValueError(f"Cannot use {path}: model.json records no finetune: {fix}")
    _check_weights_record(model_dir, config, name, stage)
    want = {"latentScale": scale}
    if stage == "finetune":
        want.update(alpha=ft.get("alpha"), mode=ft.get("mode"))
    for key, value in want.items():
        if key in meta and not _same(meta[key], value):
            raise ValueError(f"Cannot use {path}: it was written with {key} {meta[key]}, "
                             f"model.json records {_text(value)}: {fix}")
    if "centroids" not in tensors:
        raise ValueError(f"Cannot use {path}: it has no 'centroids'")
    return tensors


def _text(value):
    """A value as JavaScript's String() writes it: 7 for 7.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same(text, value):
    """Whether a safetensors metadata string (as JavaScript's String() wrote it) names value."""
    if isinstance(value, str):
        return text == value
    try:
        return float(text) == float(value)
    except (TypeError, ValueError):
        return False


def load_model(model_dir, stage="auto"):
    """Reads a model directory for a stage, as ``cluster --stage`` and ``encode --stage`` do:
    "dec" (``dec.safetensors``: the fine-tuned encoder and centres, alpha from model.json),
    "init" (the pretrained weights with ``init``'s latent scale, the centres of
    ``centroids.safetensors``, alpha 1), "pretrain" (the pretrained weights, no centres), or
    "auto" (the first of those the directory has)."""
    path = os.path.join(model_dir, "model.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot read model directory {model_dir}: it has no model.json (run pretrain)")
    with open(path, encoding="utf-8-sig") as f:
        config = json.load(f)
    if config.get("format") != "seisdec-model":
        raise ValueError(f"Cannot read {model_dir}/model.json: format is {config.get('format')!r}, not 'seisdec-model'")
    if config.get("version") != 1:
        # As seisdec refuses it: another version's fields may mean other things.
        raise ValueError(f"Cannot read {model_dir}/model.json: version is {config.get('version')!r}, not 1")
    has = lambda name: os.path.exists(os.path.join(model_dir, name))
    if stage == "auto":
        stage = "dec" if has("dec.safetensors") else "init" if has("centroids.safetensors") else "pretrain"
    if stage not in ("dec", "init", "pretrain"):
        raise ValueError(f"Cannot load model: stage must be auto, dec, init or pretrain: found {stage!r}")
    _check_weights_record(model_dir, config, "autoencoder.safetensors", "pretrain")
    pre, _ = read_safetensors(os.path.join(model_dir, "autoencoder.safetensors"))
    weights = {k: v.astype(np.float32) for k, v in pre.items() if k.startswith(("encoder.", "decoder."))}
    c = float((config.get("init") or {}).get("latentScale") or 1)
    depth = len(config["autoencoder"].get("channels", [8, 16, 32, 64, 128]))
    enc_w, enc_b = f"encoder.encoder.{2 * depth + 1}.weight", f"encoder.encoder.{2 * depth + 1}.bias"
    centroids, alpha = None, 1.0
    if stage in ("init", "dec") and c != 1:
        # The latent Linear (followed by a LeakyReLU, positively homogeneous) times c, and the
        # decoder's first Linear over c: the same function, with codes on the centres' scale.
        weights[enc_w] = weights[enc_w] * np.float32(c)
        weights[enc_b] = weights[enc_b] * np.float32(c)
        weights["decoder.decoder.0.weight"] = weights["decoder.decoder.0.weight"] / np.float32(c)
    if stage == "init":
        cen = _stage_file(model_dir, config, "centroids.safetensors", c)
        centroids = cen["centroids"].astype(np.float32)
    elif stage == "dec":
        dec = _stage_file(model_dir, config, "dec.safetensors", c)
        for k, v in dec.items():
            if k.startswith(("encoder.", "decoder.")):
                weights[k] = v.astype(np.float32)
        centroids = dec["centroids"].astype(np.float32)
        alpha = float((config.get("finetune") or {}).get("alpha", 1))
    return Model(config, stage, weights, centroids, alpha)


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} as a float32 safetensors file (names sorted, header padded to 8
    bytes, ``metadata`` as ``__metadata__`` strings), atomically: a temporary file beside it,
    then a rename."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        chunks.append(a.tobytes())
        off += a.nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.writelines(chunks)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def new_model(input_shape, latent_dim=9, channels=(8, 16, 32, 64, 128), slope=0.02, normalize="maxabs"):
    """A model without weights, for ``torch_autoencoder`` to build with PyTorch's default
    initialisation (as seisdec's own): train it in PyTorch, then ``save_model`` it.
    ``input_shape`` is [C, F, T] of the dataset's samples (its ``meta.json`` ``shape[1:]``)."""
    shape = [int(v) for v in input_shape]
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"Cannot make a model: input_shape must be [C, F, T] of positive integers: found {input_shape}")
    if normalize not in ("maxabs", "l2", "minmax", "none"):
        raise ValueError(f"Cannot make a model: normalize must be maxabs, l2, minmax or none: found {normalize!r}")
    config = {
        "format": "seisdec-model",
        "version": 1,
        "autoencoder": {"latentDim": int(latent_dim), "channels": [int(c) for c in channels],
                        "slope": float(slope), "inputShape": shape},
        "normalize": normalize,
    }
    return Model(config, "pretrain", None, None, 1.0)


def save_model(model_dir, model, weights=None, dataset=None, pretrain=None, scaling=None):
    """Writes a model directory that seisdec's ``init``, ``finetune``, ``encode`` and ``cluster``
    take as if ``pretrain`` had made it: ``autoencoder.safetensors`` and ``model.json``.

    ``model`` is a ``Model`` (its architecture and normalisation); ``weights`` its weights, as
    {state-dict name: array} or a PyTorch module from ``torch_autoencoder`` (default: the
    model's own). ``dataset``: the dataset's path, recorded; ``pretrain``: a dict recorded as
    model.json's ``pretrain`` (e.g. {"epochs": 30, "epochsDone": 30, "batchSize": 8, "lr": 1e-3}).
    ``scaling``: what the spectrograms trained on are (db, log10, psd, none), recorded as seisdec's
    pretrain records it, so that a dataset of another scaling is refused; default: the
    ``dataset``'s (its meta.json). A tensor holding NaN or an infinity is refused, naming it.
    The directory must be new or empty, so no older centres or DEC weights sit beside the new
    weights. Weights first, then model.json, each atomically."""
    if hasattr(weights, "state_dict"):
        weights = {k: v.detach().cpu().numpy() for k, v in weights.state_dict().items()}
    weights = model.weights if weights is None else weights
    if weights is None:
        raise ValueError("Cannot save the model: it has no weights (pass weights=, e.g. the trained module)")
    ae = model.config["autoencoder"]
    names = sorted(k for k in weights if k.startswith(("encoder.", "decoder.")))
    depth = len(ae["channels"])
    need = [f"encoder.encoder.{2 * i}.{p}" for i in range(depth) for p in ("weight", "bias")]
    need += [f"encoder.encoder.{2 * depth + 1}.{p}" for p in ("weight", "bias")]
    need += [f"decoder.decoder.0.{p}" for p in ("weight", "bias")]
    need += [f"decoder.decoder.{3 + 2 * i}.{p}" for i in range(depth) for p in ("weight", "bias")]
    missing = [n for n in need if n not in weights]
    if missing or len(names) != len(need):
        extra = sorted(set(names) - set(need))
        raise ValueError(f"Cannot save the model: weights must be the autoencoder's {len(need)} tensors: "
                         f"missing {missing[:3]}, unexpected {extra[:3]}")
    for n in need:
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(np.asarray(weights[n], dtype=np.float32)).all()
        if not finite:
            raise ValueError(f"Cannot save the model: {n} holds a value that is not finite (NaN or an infinity, "
                             "or a float64 past float32's range): expected finite weights")
    if scaling is None and dataset is not None and os.path.exists(os.path.join(dataset, "meta.json")):
        with open(os.path.join(dataset, "meta.json"), encoding="utf-8-sig") as f:
            scaling = json.load(f).get("scaling")
    if os.path.exists(model_dir) and os.listdir(model_dir):
        raise FileExistsError(f"Cannot save the model: {model_dir} is not empty: choose a new directory")
    os.makedirs(model_dir, exist_ok=True)
    write_safetensors(os.path.join(model_dir, "autoencoder.safetensors"), {n: weights[n] for n in need},
                      {"format": "pt"})
    # The source model's records of its stages and of its training data do not describe these
    # weights (datasetSettings: seisdec compares a dataset with it).
    config = {k: v for k, v in model.config.items()
              if k not in ("init", "finetune", "pretrain", "dataset", "datasetSettings", "cluster")}
    config["version"] = 1
    if dataset is not None:
        # Absolute, as pretrain records it: a relative path means nothing from elsewhere.
        config["dataset"] = os.path.abspath(str(dataset))
    if scaling is not None:
        config["scaling"] = str(scaling)
    if pretrain is not None:
        # The digest of the weights just written (a record copied from another model names
        # that model's).
        config["pretrain"] = {**dict(pretrain),
                              "weights": _digest(os.path.join(model_dir, "autoencoder.safetensors"))}
    tmp = os.path.join(model_dir, f".model.json.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(model_dir, "model.json"))


def _conv2d(x, w, b):
    """Conv2d, kernel 3, stride 2, padding 1, in float32: x [N, C, H, W], w [O, C, 3, 3]."""
    n, c, h, wd = x.shape
    ho, wo = (h - 1) // 2 + 1, (wd - 1) // 2 + 1
    xp = np.zeros((n, c, h + 2, wd + 2), dtype=np.float32)
    xp[:, :, 1:h + 1, 1:wd + 1] = x
    cols = np.empty((n, c, 3, 3, ho, wo), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = xp[:, :, i:i + 2 * ho:2, j:j + 2 * wo:2]
    out = np.tensordot(w.astype(np.float32), cols, axes=([1, 2, 3], [1, 2, 3]))  # [O, N, ho, wo]
    return out.transpose(1, 0, 2, 3) + b.astype(np.float32)[None, :, None, None]


def _conv_transpose2d(x, w, b, padding, output_padding):
    """ConvTranspose2d, kernel 3, stride 2, in float32: x [N, C, H, W], w [C, O, 3, 3]."""
    n, _, h, wd = x.shape
    o = w.shape[1]
    full = np.zeros((n, o, 2 * h + 1 + output_padding[0], 2 * wd + 1 + output_padding[1]), np.float32)
    for i in range(3):
        for j in range(3):
            full[:, :, i:i + 2 * h - 1:2, j:j + 2 * wd - 1:2] += np.tensordot(
                x, w[:, :, i, j].astype(np.float32), axes=([1], [0])).transpose(0, 3, 1, 2)
    (ph, pw) = padding
    ho = 2 * h + 1 - 2 * ph + output_padding[0]
    wo = 2 * wd + 1 - 2 * pw + output_padding[1]
    return full[:, :, ph:ph + ho, pw:pw + wo] + b.astype(np.float32)[None, :, None, None]


def _leaky(x, slope):
    return np.where(x >= 0, x, np.float32(slope) * x).astype(np.float32)


def encode(model, x, batch=256):
    """Latent codes [N, latent_dim] of normalised samples x [N, C, F, T] (``load_dataset`` with
    ``normalize=model.normalize``), in NumPy float32: the codes ``encode`` and ``cluster``
    write, to float32 rounding."""
    x = np.asarray(x, dtype=np.float32)
    if list(x.shape[1:]) != model.input_shape:
        raise ValueError(f"Cannot encode: the model expects samples {model.input_shape}: found {list(x.shape[1:])}")
    depth = len(model.channels)
    out = []
    for s in range(0, len(x), batch):
        h = x[s:s + batch]
        for i in range(depth):
            h = _leaky(_conv2d(h, model.weights[f"encoder.encoder.{2 * i}.weight"],
                               model.weights[f"encoder.encoder.{2 * i}.bias"]), model.slope)
        h = h.reshape(len(h), -1)
        w = model.weights[f"encoder.encoder.{2 * depth + 1}.weight"]
        b = model.weights[f"encoder.encoder.{2 * depth + 1}.bias"]
        out.append(_leaky(h @ w.T + b, model.slope))
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim), np.float32)


def reconstruct(model, x, batch=256):
    """The decoder's output [N, C, F, T] for normalised samples x (the autoencoder's forward
    pass), in NumPy float32."""
    z = encode(model, x, batch)
    cin, h, w = model.input_shape
    depth = len(model.channels)
    plan = decoder_plan(h, w, depth)
    hl, wl = plan["encoder_sizes"][-1]
    top, bottom, left, right = plan["crop"]
    out = []
    for s in range(0, len(z), batch):
        d = _leaky(z[s:s + batch] @ model.weights["decoder.decoder.0.weight"].T
                   + model.weights["decoder.decoder.0.bias"], model.slope)
        d = d.reshape(len(d), model.channels[-1], hl, wl)
        for i in range(depth):
            d = _leaky(_conv_transpose2d(d, model.weights[f"decoder.decoder.{3 + 2 * i}.weight"],
                                         model.weights[f"decoder.decoder.{3 + 2 * i}.bias"],
                                         plan["paddings"][i], plan["output_paddings"][i]), model.slope)
        out.append(d[:, :, top:d.shape[2] - bottom, left:d.shape[3] - right])
    return np.concatenate(out) if out else np.zeros((0, cin, h, w), np.float32)


def soft_assign(z, centroids, alpha=1.0):
    """DEC's Student's-t soft assignment: q_ij proportional to (1 + |z_i - mu_j|^2 / alpha)
    ** -((alpha + 1) / 2), each row summing to 1 ([N, k], float64). As seisdec computes it:
    normalised in log space (the row's largest kernel first), so far codes do not make 0/0, and
    at least 2^-126 (f32's smallest normal; a far centre at a large alpha)."""
    z = np.asarray(z, dtype=np.float64)
    mu = np.asarray(centroids, dtype=np.float64)
    d2 = ((z[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    log_k = -(alpha + 1) / 2 * np.log1p(d2 / alpha)
    if log_k.size:
        log_k -= log_k.max(1, keepdims=True)
    q = np.exp(log_k)
    return np.maximum(q / q.sum(1, keepdims=True), 2.0 ** -126)


def torch_autoencoder(model):
    """The autoencoder as a PyTorch module (``module.encoder``, ``module.decoder``, ``module(x)``)
    with the model's weights loaded under their own names (``load_state_dict(strict=True)``), or
    PyTorch's default initialisation for a ``new_model``; ``model`` is a ``Model`` or a model
    directory (stage "auto"). Needs torch."""
    import torch
    from torch import nn

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    cin, h, w = model.input_shape
    plan = decoder_plan(h, w, len(model.channels))
    act = lambda: nn.LeakyReLU(model.slope)
    enc, ch = [], cin
    for co in model.channels:
        enc += [nn.Conv2d(ch, co, 3, stride=2, padding=1), act()]
        ch = co
    hl, wl = plan["encoder_sizes"][-1]
    flat = ch * hl * wl
    enc += [nn.Flatten(), nn.Linear(flat, model.latent_dim), act()]
    dec = [nn.Linear(model.latent_dim, flat), act(), nn.Unflatten(1, (ch, hl, wl))]
    outs = list(reversed(model.channels))[1:] + [cin]
    for i, co in enumerate(outs):
        dec += [nn.ConvTranspose2d(ch, co, 3, stride=2, padding=plan["paddings"][i],
                                   output_padding=plan["output_paddings"][i]), act()]
        ch = co
    top, bottom, left, right = plan["crop"]

    class Crop(nn.Module):
        def forward(self, x):
            return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]

    dec.append(Crop())

    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential()
            self.encoder.encoder = nn.Sequential(*enc)
            self.decoder = nn.Sequential()
            self.decoder.decoder = nn.Sequential(*dec)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    module = Autoencoder()
    if model.weights is not None:
        module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                                for k, v in model.weights.items()}, strict=True)
    return module


if __name__ == "__main__":  # python3 seisdec.py MODEL_DIR DATASET_DIR: a summary of the codes
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python3 seisdec.py MODEL_DIR DATASET_DIR")
    m = load_model(sys.argv[1])
    xs, rows, _, _, _ = load_dataset(sys.argv[2], normalize=m.normalize)
    codes = encode(m, xs)
    print(m)
    print(f"{len(rows)} samples, codes {codes.shape}")
    if m.centroids is not None:
        sizes = np.bincount(soft_assign(codes, m.centroids, m.alpha).argmax(1), minlength=len(m.centroids))
        print("cluster sizes:", " ".join(str(v) for v in sizes))
