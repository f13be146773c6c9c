"""Small Keras 3 functional models that are graphs, not chains, for test/graph.test.ts.

Writes test/fixtures/graph/: <name>.keras and <name>.h5 (model.save in Keras 3.x, JAX backend),
<name>-keras2.h5 (the same .h5 with its model_config rewritten as Keras 2 wrote it, inbound_nodes as lists),
<name>.tfjs/model.json + one shard per layer (the Keras 2 style topology tensorflowjs_converter
writes: inbound_nodes as [layer, node, tensor, kwargs] lists; written here by hand, as tensorflowjs
is not installed), and expected.json: each model's inputs and Keras' outputs (model.predict).

Models:
  merges       two inputs; an LSTM and a GRU on them, every merge op (Add, Subtract, Multiply,
               Average of three, Maximum), a Concatenate of them and of an input, a Dense taken by
               two layers, two outputs (a sequence and an LSTM's last output).
  masked_ids   ids with padding: Embedding(mask_zero) taken by an LSTM and a GRU, their
               concatenation (masks merged) into an LSTM, a softmax Dense; Dropout in between.
  masked_chain a chain in Keras 3's functional form with Embedding(mask_zero), whose config holds
               the mask's op layers too: it loads as a Sequential (under "chains" in expected.json).
  textgenrnn   textgenrnn's architecture in small, with its AttentionWeightedAverage as a custom
               Keras layer (with a weight): loaded with customLayers (under "custom").
  bidirectional  a Bidirectional LSTM and a GRU on one input, multiplied, into a Bidirectional GRU (ave).
  masking      Masking(0) taken by an LSTM and a GRU, concatenated, into an LSTM.
  siamese      shared layers: one LSTM encoder called on two inputs, their difference into a
               Dense, and one Dense called on both encodings, multiplied.
  activation   Dense -> Activation (joined to the Dense), a Concatenate along time (axis 1), a
               GlobalAveragePooling1D output and a per-step output from the same Dense.

Run from the repository root: python3 scripts/gen-graph-fixtures.py (deterministic).
"""
import json
import os
import shutil
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from fixture_utils import f32  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "graph")
rng = np.random.default_rng(20261208)
L = keras.layers


def randomize(model):
    for layer in model.layers:
        layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])


def merges():
    a = keras.Input((5, 3), name="a")
    b = keras.Input((5, 2), name="b")
    la = L.LSTM(4, return_sequences=True, name="lstm_a")(a)
    gb = L.GRU(4, return_sequences=True, name="gru_b")(b)
    add = L.Add(name="add")([la, gb])
    sub = L.Subtract(name="sub")([la, gb])
    mul = L.Multiply(name="mul")([la, gb])
    avg = L.Average(name="avg")([la, gb, add])
    mx = L.Maximum(name="max")([la, gb])
    cat = L.Concatenate(name="cat")([add, sub, mul, avg, mx, a])
    mix = L.Dense(6, activation="tanh", name="mix")(cat)
    per_step = L.Dense(2, name="per_step")(mix)
    summary = L.LSTM(3, name="summary")(mix)
    model = keras.Model([a, b], [per_step, summary], name="merges")
    inputs = {"a": rng.uniform(-1.5, 1.5, (2, 5, 3)).astype(np.float32), "b": rng.uniform(-1.5, 1.5, (2, 5, 2)).astype(np.float32)}
    return model, inputs


def masked_ids():
    ids = keras.Input((6,), name="ids", dtype="int32")
    emb = L.Embedding(12, 4, mask_zero=True, name="emb")(ids)
    lstm = L.LSTM(5, return_sequences=True, name="lstm")(emb)
    gru = L.GRU(5, return_sequences=True, name="gru")(emb)
    cat = L.Concatenate(name="cat")([lstm, gru])
    drop = L.Dropout(0.5, name="drop")(cat)
    last = L.LSTM(3, name="last")(drop)
    out = L.Dense(4, activation="softmax", name="probs")(last)
    model = keras.Model(ids, out, name="masked_ids")
    x = rng.integers(1, 12, (3, 6)).astype(np.int32)
    x[0, 4:] = 0
    x[1, :2] = 0
    return model, {"ids": x}


def masked_chain():
    ids = keras.Input((5,), name="ids", dtype="int32")
    emb = L.Embedding(9, 3, mask_zero=True, name="emb")(ids)
    lstm = L.LSTM(4, name="lstm")(emb)
    out = L.Dense(2, name="out")(lstm)
    model = keras.Model(ids, out, name="masked_chain")
    x = rng.integers(1, 9, (2, 5)).astype(np.int32)
    x[0, 3:] = 0
    return model, {"ids": x}


@keras.saving.register_keras_serializable(package="textgenrnn")
class AttentionWeightedAverage(L.Layer):
    """textgenrnn/AttentionWeightedAverage.py in Keras 3 ops: softmax over time of x.W (masked steps
    left out), then the weighted average of the steps."""

    def __init__(self, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        self.return_attention = return_attention
        self.supports_masking = True

    def build(self, input_shape):
        self.W = self.add_weight(shape=(input_shape[2], 1), name="attention_W", initializer="uniform")

    def call(self, x, mask=None):
        ops = keras.ops
        logits = ops.squeeze(ops.matmul(x, self.W), -1)
        ai = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
        if mask is not None:
            ai = ai * ops.cast(mask, "float32")
        att = ai / (ops.sum(ai, axis=1, keepdims=True) + keras.config.epsilon())
        return ops.sum(x * ops.expand_dims(att, -1), axis=1)

    def compute_mask(self, x, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "return_attention": self.return_attention}


def textgenrnn():
    ids = keras.Input((12,), name="input", dtype="int32")
    emb = L.Embedding(20, 8, name="embedding")(ids)
    rnn1 = L.LSTM(6, return_sequences=True, name="rnn_1")(emb)
    rnn2 = L.LSTM(6, return_sequences=True, name="rnn_2")(rnn1)
    cat = L.Concatenate(name="rnn_concat")([emb, rnn1, rnn2])
    att = AttentionWeightedAverage(name="attention")(cat)
    out = L.Dense(20, activation="softmax", name="output")(att)
    model = keras.Model(ids, out, name="textgenrnn")
    x = rng.integers(1, 20, (2, 12)).astype(np.int32)
    x[0, :4] = 0  # left padding, as textgenrnn pads
    return model, {"input": x}


def bidirectional():
    x = keras.Input((6, 3), name="x")
    bi = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi_lstm")(x)
    gru = L.GRU(6, return_sequences=True, name="gru")(x)
    both = L.Multiply(name="both")([bi, gru])
    out = L.Bidirectional(L.GRU(2), merge_mode="ave", name="bi_gru")(both)
    model = keras.Model(x, out, name="bidirectional")
    return model, {"x": rng.uniform(-1.5, 1.5, (2, 6, 3)).astype(np.float32)}


def masking():
    x = keras.Input((5, 3), name="x")
    masked = L.Masking(0.0, name="masking")(x)
    lstm = L.LSTM(4, return_sequences=True, name="lstm")(masked)
    gru = L.GRU(4, return_sequences=True, name="gru")(masked)
    cat = L.Concatenate(name="cat")([lstm, gru])
    out = L.LSTM(2, name="last")(cat)
    model = keras.Model(x, out, name="masking")
    data = rng.uniform(-1.5, 1.5, (2, 5, 3)).astype(np.float32)
    data[0, 3:] = 0.0  # padded at the end
    data[1, :1] = 0.0  # and at the start
    return model, {"x": data}


def siamese():
    a = keras.Input((6, 3), name="left")
    b = keras.Input((6, 3), name="right")
    encoder = L.LSTM(4, name="encoder")
    ea, eb = encoder(a), encoder(b)
    diff = L.Subtract(name="diff")([ea, eb])
    same = L.Dense(1, activation="sigmoid", name="same")(diff)
    project = L.Dense(3, name="project")
    both = L.Multiply(name="both")([project(ea), project(eb)])
    model = keras.Model([a, b], [same, both], name="siamese")
    return model, {"left": rng.uniform(-1.5, 1.5, (2, 6, 3)).astype(np.float32), "right": rng.uniform(-1.5, 1.5, (2, 6, 3)).astype(np.float32)}


def activation():
    x = keras.Input((4, 3), name="x")
    d = L.Dense(5, name="d")(x)
    act = L.Activation("relu", name="act")(d)
    gru = L.GRU(5, return_sequences=True, name="gru")(act)
    joined = L.Concatenate(axis=1, name="along_time")([act, gru])
    pooled = L.GlobalAveragePooling1D(name="pooled")(joined)
    steps = L.Dense(2, activation="sigmoid", name="steps")(gru)
    model = keras.Model(x, [pooled, steps], name="activation")
    return model, {"x": rng.uniform(-1.5, 1.5, (2, 4, 3)).astype(np.float32)}


def keras2_topology(model):
    """The functional config as Keras 2 and TF.js write it: inbound_nodes [[[layer, 0, 0, {}], ...]]."""
    config = model.get_config()
    layers = []
    for layer in config["layers"]:
        inner = {k: v for k, v in layer["config"].items() if k != "dtype"}
        if layer["class_name"] == "Bidirectional":
            # Keras 2 configs name the wrapped layer plainly (the directions add forward_/backward_).
            wrapped = {k: v for k, v in inner["layer"]["config"].items() if k != "dtype"}
            wrapped["name"] = wrapped["name"].removeprefix("forward_")
            inner["layer"] = {"class_name": inner["layer"]["class_name"], "config": wrapped}
            inner.pop("backward_layer", None)
        if layer["class_name"] == "InputLayer":
            inner = {"name": inner["name"], "batch_input_shape": inner.get("batch_shape"), "dtype": inner.get("dtype", "float32")}
        calls = []
        for node in layer["inbound_nodes"]:
            refs = []

            def visit(x):
                if isinstance(x, dict):
                    history = x.get("config", {}).get("keras_history") if x.get("class_name") == "__keras_tensor__" else None
                    if history:
                        refs.append([history[0], int(history[1]), int(history[2]), {}])
                    else:
                        for v in x.values():
                            visit(v)
                elif isinstance(x, (list, tuple)):
                    for v in x:
                        visit(v)
            visit(node["args"])
            calls.append(refs)
        layers.append({"class_name": layer["class_name"], "name": layer["name"], "config": inner, "inbound_nodes": calls})
    # Keras 3 writes the mask's computation as op layers (NotEqual, LogicalOr, Any) passed as
    # `mask` kwargs; Keras 2 had none of them: keep the layers the outputs take through args.
    by_name = {layer["name"]: layer for layer in layers}
    kept, todo = set(), [e[0] for e in (config["output_layers"] if isinstance(config["output_layers"][0], (list, tuple)) else [config["output_layers"]])]
    while todo:
        n = todo.pop()
        if n not in kept:
            kept.add(n)
            todo.extend(r[0] for call in by_name[n]["inbound_nodes"] for r in call)
    layers = [layer for layer in layers if layer["name"] in kept]
    ends = lambda v: [list(e) for e in (v if isinstance(v[0], (list, tuple)) else [v])]  # noqa: E731
    return {"class_name": "Functional", "config": {"name": model.name, "layers": layers, "input_layers": ends(config["input_layers"]), "output_layers": ends(config["output_layers"])},
            "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}


def tfjs_weight_names(layer):
    if isinstance(layer, L.Bidirectional):
        cell = "lstm_cell" if isinstance(layer.forward_layer, L.LSTM) else "gru_cell"
        inner = layer.forward_layer.name.removeprefix("forward_")
        return [f"{layer.name}/{d}_{inner}/{cell}/{w}" for d in ("forward", "backward") for w in ["kernel", "recurrent_kernel", "bias"]]
    if isinstance(layer, (L.LSTM, L.GRU)):
        cell = "lstm_cell" if isinstance(layer, L.LSTM) else "gru_cell"
        return [f"{layer.name}/{cell}/{w}" for w in ["kernel", "recurrent_kernel", "bias"]]
    if isinstance(layer, L.Embedding):
        return [f"{layer.name}/embeddings"]
    if isinstance(layer, AttentionWeightedAverage):
        return [f"{layer.name}/attention_W"]
    return [f"{layer.name}/{w}" for w in ["kernel", "bias"][: len(layer.get_weights())]]


def write_tfjs(model, folder):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    manifest = []
    for k, layer in enumerate(model.layers):
        weights = layer.get_weights()
        if not weights:
            continue
        shard = f"group{k + 1}-shard1of1.bin"
        with open(os.path.join(folder, shard), "wb") as f:
            for w in weights:
                f.write(np.asarray(w, "<f4").tobytes())
        manifest.append({"paths": [shard], "weights": [{"name": n, "shape": list(w.shape), "dtype": "float32"} for n, w in zip(tfjs_weight_names(layer), weights)]})
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump({"format": "layers-model", "generatedBy": f"keras v{keras.__version__}", "convertedBy": "scripts/gen-graph-fixtures.py",
                   "modelTopology": keras2_topology(model), "weightsManifest": manifest}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"generator": "scripts/gen-graph-fixtures.py", "versions": {"keras": keras.__version__, "backend": keras.backend.backend(), "numpy": np.__version__},
                "tolerance": {"abs": 1e-5, "rel": 1e-5}, "models": {}}
    expected["chains"] = {}
    expected["custom"] = {}
    for make in (merges, masked_ids, activation, masked_chain, textgenrnn, bidirectional, masking, siamese):
        model, inputs = make()
        randomize(model)
        name = model.name
        outputs = model.predict([inputs[t.name] for t in model.inputs] if len(inputs) > 1 else next(iter(inputs.values())), verbose=0)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        model.save(os.path.join(OUT, f"{name}.keras"))
        model.save(os.path.join(OUT, f"{name}.h5"))
        write_tfjs(model, os.path.join(OUT, f"{name}.tfjs"))
        # Keras 3 writes .h5 configs with keras_history too: a copy with the config as Keras 2 wrote it.
        shutil.copy(os.path.join(OUT, f"{name}.h5"), os.path.join(OUT, f"{name}-keras2.h5"))
        with h5py.File(os.path.join(OUT, f"{name}-keras2.h5"), "r+") as f:
            topology = keras2_topology(model)
            f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": topology["config"]})
        with h5py.File(os.path.join(OUT, f"{name}.h5"), "r") as f:
            h5_config = json.loads(f.attrs["model_config"])
        style = "keras_history" if "keras_history" in json.dumps(h5_config) else "lists"
        group = {"masked_chain": "chains", "textgenrnn": "custom"}.get(name, "models")
        expected[group][name] = {
            "inputs": {n: f32(v) if v.dtype == np.float32 else v.tolist() for n, v in inputs.items()},
            "input_order": [t.name for t in model.inputs],
            "outputs": {layer: f32(o) for layer, o in zip([t.name.split("/")[0] for t in model.outputs], outputs)},
            "output_layers": [n[0] for n in keras2_topology(model)["config"]["output_layers"]],
            "h5_inbound_style": style,
        }
        # Output names: the layers that make them, in order.
        expected[group][name]["outputs"] = {n: f32(o) for n, o in zip(expected[group][name]["output_layers"], outputs)}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
