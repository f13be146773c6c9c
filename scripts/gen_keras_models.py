"""Small Keras 3 models saved as .keras and .h5, and the same models written in the TF.js layers
format, with Keras' own predictions, for test/load-keras.test.ts.

    KERAS_BACKEND=jax python3 scripts/gen_keras_models.py

Writes test/fixtures/models/keras/: <name>.keras, <name>.h5, <name>.tfjs/model.json (+ shard) and
golden.json ({ name: { input, output } }). The TF.js copies are written here by hand in the format
tensorflowjs_converter produces (Keras 2 style topology, one weight group per layer), so their
expected values are Keras' too; scripts/gen_tfjs_golden.mjs checks them with TF.js itself.
options.tfjs-quantized holds the 'options' model's weights quantized as the converter does (uint8,
uint16, float16); bidirectional_dropout.tfjs-v3 is what the converter makes of a Keras 3 .keras.
"""
import io
import json
import os
import shutil
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models", "keras")
rng = np.random.default_rng(20261123)


def randomize(model):
    # Trained-looking weights: big enough that gates leave their linear range.
    for layer in model.layers:
        layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])


ALL_FORMATS = [".keras", ".h5", ".tfjs"]


def features(T, I, edit=None):
    """An input maker: 3 sequences of T steps of I features, then `edit` applied to them."""
    def make():
        x = rng.uniform(-1.5, 1.5, (3, T, I)).astype(np.float32)
        if edit:
            edit(x)
        return x
    return make


def pad_some_steps(x):
    """Steps that Masking(0.0) skips: padded at the end, at the start, one in the middle; and a
    step with one zero feature, which stays unmasked."""
    x[0, 5:] = 0.0
    x[1, :2] = 0.0
    x[2, 3] = 0.0
    x[2, 4, 1] = 0.0


def padded_ids():
    """Ids of 3 sequences of 8 steps, 0 being padding: at the start, at the end, none."""
    ids = rng.integers(1, 20, (3, 8)).astype(np.int32)
    ids[0, :3] = 0
    ids[1, 6:] = 0
    return ids


def models():
    """(name, input maker, model, formats written)."""
    L = keras.layers
    yield "lstm_gru_dense", features(7, 5), keras.Sequential([
        keras.Input((7, 5)),
        L.LSTM(8, return_sequences=True),
        L.GRU(6, return_sequences=True),  # reset_after=True, bias [2, 3U]
        L.Dense(4, activation="softmax"),
    ]), ALL_FORMATS
    yield "bidirectional_dropout", features(6, 4), keras.Sequential([
        keras.Input((6, 4)),
        L.Bidirectional(L.LSTM(5, return_sequences=True), merge_mode="sum"),
        L.Dropout(0.5),
        L.Bidirectional(L.GRU(4, reset_after=False)),  # concat
        L.Dense(3),
        L.Activation("tanh"),
    ]), ALL_FORMATS
    yield "options", features(5, 3), keras.Sequential([
        keras.Input((5, 3)),
        L.GRU(6, reset_after=False, recurrent_activation="hard_sigmoid", go_backwards=True, return_sequences=True),
        L.LSTM(4, activation="relu", use_bias=False, unit_forget_bias=False, return_sequences=False),
        L.Dense(2, activation="sigmoid", use_bias=False),
    ]), ALL_FORMATS
    yield "masking", features(7, 3, pad_some_steps), keras.Sequential([
        keras.Input((7, 3)),
        L.Masking(mask_value=0.0),
        L.LSTM(5, return_sequences=True),
        L.GRU(4, reset_after=False),
        L.Dense(3),
    ]), ALL_FORMATS
    # An LSTM autoencoder: the final state repeated for every step, decoded by a second LSTM.
    yield "autoencoder", features(6, 3), keras.Sequential([
        keras.Input((6, 3)),
        L.LSTM(5),
        L.RepeatVector(6),
        L.LSTM(4, return_sequences=True),
        L.TimeDistributed(L.Dense(3)),
    ]), ALL_FORMATS
    # Steps folded away: a masked average (Keras leaves masked steps out), a max, a Flatten.
    yield "masked_average", features(7, 3, pad_some_steps), keras.Sequential([
        keras.Input((7, 3)),
        L.Masking(mask_value=0.0),
        L.LSTM(5, return_sequences=True),
        L.GlobalAveragePooling1D(),
        L.Dense(2, activation="softmax"),
    ]), ALL_FORMATS
    yield "max_pool", features(5, 3), keras.Sequential([
        keras.Input((5, 3)),
        L.LSTM(4, return_sequences=True),
        L.GlobalMaxPooling1D(),
        L.Dense(2),
    ]), ALL_FORMATS
    yield "flatten", features(5, 3), keras.Sequential([
        keras.Input((5, 3)),
        L.GRU(4, reset_after=False, return_sequences=True),
        L.Flatten(),
        L.Dense(3),
    ]), ALL_FORMATS
    # A functional model that is one chain of layers (written as .keras and .h5 only).
    inputs = keras.Input((6, 3))
    x = L.Bidirectional(L.GRU(5, return_sequences=True))(inputs)
    x = L.LSTM(4, return_sequences=True)(x)
    x = L.LSTM(3)(x)
    outputs = L.Dense(2, activation="softmax")(x)
    yield "functional_chain", features(6, 3), keras.Model(inputs, outputs), [".keras", ".h5"]
    # Ids in, id 0 masked from every recurrent layer (mask_zero), through a Bidirectional.
    yield "embedding_mask_zero", padded_ids, keras.Sequential([
        keras.Input((8,), dtype="int32"),
        L.Embedding(20, 6, mask_zero=True),
        L.Bidirectional(L.LSTM(5, return_sequences=True)),
        L.GRU(4, reset_after=False),
        L.Dense(1, activation="sigmoid"),
    ]), ALL_FORMATS


def keras2_topology(model):
    """The Keras 2 style config tensorflowjs_converter writes for a Sequential."""
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        config.pop("dtype", None)
        if isinstance(layer, keras.layers.Bidirectional):
            # Keras 2 configs name the wrapped layer plainly; the directions add forward_/backward_.
            inner = {k: v for k, v in config["layer"]["config"].items() if k != "dtype"}
            inner["name"] = inner["name"].removeprefix("forward_")
            config["layer"] = {"class_name": layer.forward_layer.__class__.__name__, "config": inner}
            config.pop("backward_layer", None)
        layers.append({"class_name": layer.__class__.__name__, "config": config})
    layers[0]["config"]["batch_input_shape"] = [None, *model.input_shape[1:]]
    return {"class_name": "Sequential", "config": {"name": model.name, "layers": layers}, "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}


def tfjs_weight_names(layer):
    """Names as the converter writes them: <layer>/<cell>/<weight> for recurrent layers."""
    def cell_names(rnn, prefix):
        cell = "lstm_cell" if isinstance(rnn, keras.layers.LSTM) else "gru_cell"
        return [f"{prefix}/{cell}/{w}" for w in ["kernel", "recurrent_kernel", "bias"][: len(rnn.get_weights())]]
    if isinstance(layer, keras.layers.Bidirectional):
        inner = layer.forward_layer.name.removeprefix("forward_")
        return cell_names(layer.forward_layer, f"{layer.name}/forward_{inner}") + cell_names(layer.backward_layer, f"{layer.name}/backward_{inner}")
    if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return cell_names(layer, layer.name)
    if isinstance(layer, keras.layers.Embedding):
        return [f"{layer.name}/embeddings"]
    return [f"{layer.name}/{w}" for w in ["kernel", "bias"][: len(layer.get_weights())]]


QUANTIZATIONS = ["uint8", "uint16", "float16"]


def encode(w, quantization):
    """A weight's bytes and manifest entry, stored as tensorflowjs_converter --quantize_* does."""
    if quantization is None:
        return np.asarray(w, "<f4").tobytes(), {}
    if quantization == "float16":
        return np.asarray(w, "<f2").tobytes(), {"quantization": {"dtype": "float16"}}
    top = 255 if quantization == "uint8" else 65535
    lo, hi = float(w.min()), float(w.max())
    scale = (hi - lo) / top if hi > lo else 1.0
    q = np.round((w - lo) / scale).astype("<u1" if quantization == "uint8" else "<u2")
    return q.tobytes(), {"quantization": {"dtype": quantization, "scale": scale, "min": lo}}


def write_tfjs(model, folder, quantize=False):
    """quantize: the layers' weights stored as uint8, uint16 and float16 in turn."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    manifest = []
    for k, layer in enumerate(model.layers):
        weights = layer.get_weights()
        if not weights:
            continue
        quantization = QUANTIZATIONS[len(manifest) % 3] if quantize else None
        shard = f"group{k + 1}-shard1of1.bin"
        entries = []
        with open(os.path.join(folder, shard), "wb") as f:
            for n, w in zip(tfjs_weight_names(layer), weights):
                data, extra = encode(w, quantization)
                f.write(data)
                entries.append({"name": n, "shape": list(w.shape), "dtype": "float32", **extra})
        manifest.append({"paths": [shard], "weights": entries})
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump({"format": "layers-model", "generatedBy": f"keras v{keras.__version__}", "convertedBy": "scripts/gen_keras_models.py",
                   "modelTopology": keras2_topology(model), "weightsManifest": manifest}, f)


def write_tfjs_v3(keras_file, folder):
    """model.json as tensorflowjs_converter writes a Keras 3 .keras file
    (h5_v3_merged_saved_model_to_tfjs_format): the config as saved, and each weight named by its
    path in model.weights.h5 (layers/<class key>/cell/vars/0), not by its layer's name."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with zipfile.ZipFile(keras_file) as z:
        # shared_object_id is a Python id(), different every run: dropped so the file is reproducible.
        config = json.loads(z.read("config.json"), object_hook=lambda o: {k: v for k, v in o.items() if k != "shared_object_id"})
        metadata = json.loads(z.read("metadata.json"))
        weights = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        entries, data = [], []

        def walk(group, prefix):
            for key in group.keys():
                item = group[key]
                if isinstance(item, h5py.Group):
                    walk(item, prefix + key + "/")
                else:
                    value = np.asarray(item, "<f4")
                    entries.append({"name": prefix + key, "shape": list(value.shape), "dtype": "float32"})
                    data.append(value.tobytes())

        walk(weights, "")
    with open(os.path.join(folder, "group1-shard1of1.bin"), "wb") as f:
        f.write(b"".join(data))
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump({"format": "layers-model", "generatedBy": f"keras v{metadata['keras_version']}", "convertedBy": "scripts/gen_keras_models.py",
                   "modelTopology": {"keras_version": metadata["keras_version"], "model_config": config},
                   "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": entries}]}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {}
    for name, make_input, model, formats in models():
        randomize(model)
        x = make_input()
        y = np.asarray(model.predict(x, verbose=0), np.float32)
        model.save(os.path.join(OUT, f"{name}.keras"))
        model.save(os.path.join(OUT, f"{name}.h5"))
        if ".tfjs" in formats:
            write_tfjs(model, os.path.join(OUT, f"{name}.tfjs"))
        if name == "options":
            write_tfjs(model, os.path.join(OUT, f"{name}.tfjs-quantized"), quantize=True)
        if name == "bidirectional_dropout":
            write_tfjs_v3(os.path.join(OUT, f"{name}.keras"), os.path.join(OUT, f"{name}.tfjs-v3"))
        golden[name] = {"input": x.tolist(), "output": y.tolist(), "keras_version": keras.__version__, "formats": formats}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
