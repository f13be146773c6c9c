"""Keras 3 weights-only files (model.save_weights('x.weights.h5')) and a branching model that
loadModel refuses (.keras and .h5), with Keras' own outputs, for test/keras-layers.test.ts.

    KERAS_BACKEND=jax python3 scripts/gen_keras_weights.py

Writes test/fixtures/models/keras-weights/: <name>.weights.h5 for stacks of LSTM, GRU (reset_after
both ways), Bidirectional and Dense layers, <name>.h5 with the same weights in Keras 2's
save_weights layout (layer_names, weight_names: Keras 3's own legacy writer, which Keras 2's
load_weights reads), branched.keras and branched.h5, and expected.json:
{ name: { input, output, build } } where `build` is what the model's code says and a weights-only
file does not (each layer's name in the file with its create options: returnSequences, activations,
mergeMode), so the test builds the model as a user would, from readKerasLayers and that code.
For the branching model, `output` is the output of its LSTM 'encoder' (a sub-model of Keras'
own), and `build` names the layers on that path.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models", "keras-weights")
rng = np.random.default_rng(20261207)
L = keras.layers


def randomize(model):
    # Trained-looking weights: big enough that gates leave their linear range.
    for layer in model.layers:
        layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])


def stacks():
    """(name, model, build): build lists each layer by its name with the options the code gave it."""
    T, I = 7, 3
    yield "lstm_stack", keras.Sequential([
        keras.Input((T, I)),
        L.LSTM(5, return_sequences=True, name="encoder"),
        L.LSTM(4, name="lstm_top"),
        L.Dense(2, name="head"),
    ]), [
        {"name": "encoder", "options": {"returnSequences": True}},
        {"name": "lstm_top", "options": {}},
        {"name": "head", "options": {}},
    ]
    yield "gru_stack", keras.Sequential([
        keras.Input((T, I)),
        L.GRU(5, return_sequences=True, name="gru_after"),
        L.GRU(4, reset_after=False, return_sequences=True, go_backwards=True, name="gru_before"),
        L.Dense(3, activation="softmax", name="probabilities"),
    ]), [
        {"name": "gru_after", "options": {"returnSequences": True}},
        {"name": "gru_before", "options": {"returnSequences": True, "goBackwards": True}},
        {"name": "probabilities", "options": {"activation": "softmax"}},
    ]
    yield "bidirectional_stack", keras.Sequential([
        keras.Input((T, I)),
        L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi_lstm"),
        L.Bidirectional(L.GRU(3), merge_mode="sum", name="bi_gru"),
        L.Dense(2, activation="tanh", name="head"),
    ]), [
        {"name": "bi_lstm", "options": {"returnSequences": True}},
        {"name": "bi_gru", "options": {"mergeMode": "sum"}},
        {"name": "head", "options": {"activation": "tanh"}},
    ]
    yield "dense_stack", keras.Sequential([
        keras.Input((T, I)),
        L.LSTM(6, return_sequences=True, name="lstm"),
        L.Dense(5, activation="relu", name="hidden"),
        L.Dense(4, use_bias=False, name="projection"),
        L.Dense(2, activation="sigmoid", name="out"),
    ]), [
        {"name": "lstm", "options": {"returnSequences": True}},
        {"name": "hidden", "options": {"activation": "relu"}},
        {"name": "projection", "options": {}},
        {"name": "out", "options": {"activation": "sigmoid"}},
    ]


def branched():
    """Input -> LSTM 'encoder' -> Dense 'head', and the input's average beside it: not a chain."""
    T, I = 6, 3
    x = keras.Input((T, I), name="x")
    encoded = L.LSTM(4, name="encoder")(x)
    pooled = L.GlobalAveragePooling1D(name="pool")(x)
    joined = L.Concatenate(name="join")([encoded, pooled])
    y = L.Dense(2, name="head")(joined)
    return keras.Model(x, y, name="branched"), keras.Model(x, encoded)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, model, build in stacks():
        randomize(model)
        x = rng.uniform(-1.5, 1.5, (2, 7, 3)).astype(np.float32)
        model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
        with h5py.File(os.path.join(OUT, f"{name}.h5"), "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        expected[name] = {"input": x.tolist(), "output": np.asarray(model.predict(x, verbose=0)).tolist(), "build": build}
    model, encoder = branched()
    randomize(model)
    x = rng.uniform(-1.5, 1.5, (2, 6, 3)).astype(np.float32)
    model.save(os.path.join(OUT, "branched.keras"))
    model.save(os.path.join(OUT, "branched.h5"))
    expected["branched"] = {"input": x.tolist(), "output": np.asarray(encoder.predict(x, verbose=0)).tolist(), "build": [{"name": "encoder", "options": {}}]}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "models": expected}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
