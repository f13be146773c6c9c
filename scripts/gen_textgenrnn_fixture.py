"""Generate test/fixtures/textgenrnn.json: known answers for importing CuDNN-trained Keras 2 weights.

The model is textgenrnn's pretrained character model (MIT, minimaxir/textgenrnn), shipped in
shared/fixtures/models/keras_textgenrnn_cudnnlstm_weights/ (see SOURCE.md there): a Keras 2.1.5
weights-only HDF5 saved from CuDNNLSTM layers (LSTM biases of length 8U = separate input and
recurrent biases, per-gate kernels in cuDNN layout).

Oracle (what computes the expected numbers)
-------------------------------------------
Keras 3 dropped the CuDNN weight conversion (keras/src/legacy/saving/legacy_h5_format.py has no
`_convert_rnn_weights`; loading this file there fails with a bias shape mismatch, checked below),
and tf_keras is not available offline. TensorFlow 2.21.0 still ships the frozen Keras 2 code base
as `tensorflow.python.keras`, including `saving/hdf5_format.py` with `preprocess_weights_for_loading`
-> `_convert_rnn_weights` -> `convert_lstm_weights` and the Keras 2 `LSTM` layer (exported there as
`LSTMV1`, class name `LSTM`). So the oracle is Keras 2 end to end:
  * the textgenrnn model is built with `tensorflow.python.keras` layers, LSTM layers being plain
    `LSTM(128, return_sequences=True, recurrent_activation='sigmoid')` (CuDNN parity, as textgenrnn's
    model.py does on CPU);
  * the weights are loaded with `model.load_weights(path, by_name=True)`, exactly what textgenrnn's
    `textgenrnn_model()` calls, which converts the CuDNNLSTM weights (Keras 2 code, not ours);
  * `model.predict` runs the forward pass.
Cross-check: Keras 3.15.1 (JAX backend) runs the same architecture with the weights Keras 2 produced;
the two forwards must agree to 1e-5 (asserted).

Import trap: `wrong_import_top1` is the top-1 prediction of the same Keras 2 model when the biases are
summed but the per-gate kernel re-layout is skipped (raw kernels set with `set_weights`).

Run from the repository root. Needs tensorflow_cpu==2.21.0 (e.g. in a venv that also sees
scripts/requirements-fixtures.txt's keras/jax/h5py/numpy):
    python3 -m venv --system-site-packages /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow_cpu==2.21.0
    /tmp/tfvenv/bin/python scripts/gen_textgenrnn_fixture.py
Set TEXTGENRNN_DIR to use another copy of the weights folder. The output is deterministic.
"""

import json
import os
import sys
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"  # for the Keras 3 cross-check; must precede any keras import
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402  (h5py before tensorflow, as Keras 2's hdf5_format recommends)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.keras import backend as K2  # noqa: E402
from tensorflow.python.keras import layers as L2  # noqa: E402
from tensorflow.python.keras import models as M2  # noqa: E402
from tensorflow.python.keras.saving import hdf5_format  # noqa: E402,F401

# Bit-rot shim: the frozen Keras 2 data adapter (used by model.predict) still looks for
# input_lib.DistributedDatasetInterface, which TF has since moved to tensorflow.python.types.distribute.
from tensorflow.python.distribute import input_lib as _input_lib  # noqa: E402
from tensorflow.python.types import distribute as _types_distribute  # noqa: E402
if not hasattr(_input_lib, "DistributedDatasetInterface"):
    _input_lib.DistributedDatasetInterface = _types_distribute.DistributedDatasetInterface

REPO = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = Path(os.environ.get(
    "TEXTGENRNN_DIR", REPO.parent / "shared" / "fixtures" / "models" / "keras_textgenrnn_cudnnlstm_weights"))
H5_PATH = WEIGHTS_DIR / "textgenrnn_weights.hdf5"
VOCAB_PATH = WEIGHTS_DIR / "textgenrnn_vocab.json"
OUT_PATH = REPO / "test" / "fixtures" / "textgenrnn.json"

MAX_LENGTH = 40      # textgenrnn default config: max_length
DIM_EMBEDDINGS = 100
RNN_SIZE = 128
NUM_CLASSES = 465    # len(vocab) + 1, index 0 = padding
SEED_TEXTS = [
    "the quick brown fox jumps over the lazy",                 # 39 chars: one pad
    "hello world",                                             # 29 pads
    "What is the best way to learn programming in 2018",       # 49 chars: truncated to the last 40
]
CROSS_CHECK_TOL = 1e-5

# Dataset paths inside the HDF5 (Keras 2 save_weights layout: <layer>/<layer>/<weight>:0).
H5_DATASETS = {
    "embedding": ["embedding/embedding/embeddings:0"],
    "rnn_1": ["rnn_1/rnn_1/kernel:0", "rnn_1/rnn_1/recurrent_kernel:0", "rnn_1/rnn_1/bias:0"],
    "rnn_2": ["rnn_2/rnn_2/kernel:0", "rnn_2/rnn_2/recurrent_kernel:0", "rnn_2/rnn_2/bias:0"],
    "attention": ["attention/attention/attention_W:0"],
    "output": ["output/output/kernel:0", "output/output/bias:0"],
}


def f32(a):
    """Nested lists of floats that round-trip exactly to the float32 values."""
    a = np.asarray(a, dtype=np.float32)
    flat = [float(str(v)) for v in a.ravel()]
    assert np.array_equal(np.array(flat, dtype=np.float32), a.ravel())
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


def encode(text, vocab):
    """textgenrnn_encode_sequence: chars -> ids (unknown -> 0), then Keras pad_sequences(maxlen=40)
    with its defaults padding='pre', truncating='pre' (keep the last 40, pad with 0 on the left)."""
    ids = [vocab.get(ch, 0) for ch in text][-MAX_LENGTH:]
    return [0] * (MAX_LENGTH - len(ids)) + ids


# --------------------------------------------------------------------- attention layers
# textgenrnn/AttentionWeightedAverage.py (DeepMoji's layer), call() with mask=None:
#   logits = x . W                      (x: [B,T,356], W: [356,1]) -> reshape [B,T]
#   ai = exp(logits - max_t logits)
#   att = ai / (sum_t ai + epsilon)     (Keras epsilon 1e-7; no tanh, no bias)
#   out = sum_t x * att[..., None]      -> [B,356]
# The layer's only weight is named '<layer name>_W', i.e. 'attention_W'.


class AttentionWeightedAverageK2(L2.Layer):
    def build(self, input_shape):
        self.W = self.add_weight(shape=(int(input_shape[2]), 1), name=f"{self.name}_W",
                                 initializer="uniform", trainable=True)
        super().build(input_shape)

    def call(self, x, return_attention=False):
        logits = K2.dot(x, self.W)
        x_shape = K2.shape(x)
        logits = K2.reshape(logits, (x_shape[0], x_shape[1]))
        ai = K2.exp(logits - K2.max(logits, axis=-1, keepdims=True))
        att = ai / (K2.sum(ai, axis=1, keepdims=True) + K2.epsilon())
        return K2.sum(x * K2.expand_dims(att), axis=1), att

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], input_shape[2]), (input_shape[0], input_shape[1])]


def build_keras2():
    inp = L2.Input(shape=(MAX_LENGTH,), name="input")
    emb = L2.Embedding(NUM_CLASSES, DIM_EMBEDDINGS, input_length=MAX_LENGTH, name="embedding")(inp)
    rnn_1 = L2.LSTMV1(RNN_SIZE, return_sequences=True, recurrent_activation="sigmoid", name="rnn_1")(emb)
    rnn_2 = L2.LSTMV1(RNN_SIZE, return_sequences=True, recurrent_activation="sigmoid", name="rnn_2")(rnn_1)
    concat = L2.concatenate([emb, rnn_1, rnn_2], name="rnn_concat")
    attended, att = AttentionWeightedAverageK2(name="attention")(concat)
    out = L2.Dense(NUM_CLASSES, activation="softmax", name="output")(attended)
    model = M2.Model(inputs=[inp], outputs=[out])
    probe = M2.Model(inputs=[inp], outputs=[out, rnn_1, rnn_2, att])
    assert model.get_layer("rnn_1").__class__.__name__ == "LSTM"  # what _convert_rnn_weights keys on
    return model, probe


def build_keras3():
    import keras
    from keras import layers, ops

    class AttentionWeightedAverageK3(layers.Layer):
        def build(self, input_shape):
            self.W = self.add_weight(shape=(input_shape[2], 1), name=f"{self.name}_W")

        def call(self, x):
            logits = ops.squeeze(ops.matmul(x, self.W), axis=-1)
            ai = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
            att = ai / (ops.sum(ai, axis=1, keepdims=True) + keras.config.epsilon())
            return ops.sum(x * ops.expand_dims(att, -1), axis=1)

    inp = keras.Input(shape=(MAX_LENGTH,), name="input", dtype="int32")
    emb = layers.Embedding(NUM_CLASSES, DIM_EMBEDDINGS, name="embedding")(inp)
    rnn_1 = layers.LSTM(RNN_SIZE, return_sequences=True, recurrent_activation="sigmoid", name="rnn_1")(emb)
    rnn_2 = layers.LSTM(RNN_SIZE, return_sequences=True, recurrent_activation="sigmoid", name="rnn_2")(rnn_1)
    concat = layers.concatenate([emb, rnn_1, rnn_2], name="rnn_concat")
    attended = AttentionWeightedAverageK3(name="attention")(concat)
    out = layers.Dense(NUM_CLASSES, activation="softmax", name="output")(attended)
    return keras, keras.Model(inp, [out, rnn_1, rnn_2])


def keras3_rejects_file(keras):
    """Keras 3's own legacy HDF5 loader has no CuDNN conversion: it must refuse the 8U bias."""
    from keras.src.legacy.saving import legacy_h5_format
    assert not hasattr(legacy_h5_format, "_convert_rnn_weights")
    _, m = build_keras3()
    m = keras.Model(m.inputs, m.outputs[0])
    try:
        with h5py.File(H5_PATH, "r") as f:
            legacy_h5_format.load_weights_from_hdf5_group_by_name(f, m)
    except ValueError as e:
        return str(e).splitlines()[0][:200]
    raise AssertionError("Keras 3 loaded CuDNN weights without conversion?")


def main():
    vocab = json.loads(VOCAB_PATH.read_text(encoding="utf8"))
    assert len(vocab) + 1 == NUM_CLASSES and sorted(vocab.values()) == list(range(1, NUM_CLASSES))
    index_char = {i: ch for ch, i in vocab.items()}
    index_char[0] = ""  # padding

    with h5py.File(H5_PATH, "r") as f:
        assert f.attrs["keras_version"] in (b"2.1.5", "2.1.5")
        raw = {layer: [f[p][()] for p in paths] for layer, paths in H5_DATASETS.items()}
    for name in ("rnn_1", "rnn_2"):
        assert raw[name][2].shape == (8 * RNN_SIZE,), "expected CuDNNLSTM biases (8U)"

    # ---- oracle: Keras 2 (tensorflow.python.keras) loads + converts + predicts
    model2, probe2 = build_keras2()
    model2.load_weights(str(H5_PATH), by_name=True)   # as textgenrnn's textgenrnn_model() does
    conv = {name: model2.get_layer(name).get_weights() for name in H5_DATASETS}
    for name in ("rnn_1", "rnn_2"):
        k, rk, b = conv[name]
        rk_raw = raw[name][1]
        # sanity: conversion really happened (biases summed, kernels re-laid out per gate)
        assert b.shape == (4 * RNN_SIZE,)
        np.testing.assert_array_equal(b, raw[name][2][:512] + raw[name][2][512:])
        assert not np.array_equal(k, raw[name][0]) and not np.array_equal(rk, rk_raw)
        np.testing.assert_array_equal(rk[:, :RNN_SIZE], rk_raw[:, :RNN_SIZE].T)
    for name in ("embedding", "attention", "output"):
        for got, want in zip(conv[name], raw[name]):
            np.testing.assert_array_equal(got, want)

    ids = np.array([encode(t, vocab) for t in SEED_TEXTS], dtype=np.int32)
    probs, h1, h2, att = probe2.predict(ids.astype(np.float32), batch_size=len(ids), verbose=0)
    probs_model = model2.predict(ids.astype(np.float32), batch_size=len(ids), verbose=0)
    np.testing.assert_array_equal(probs, probs_model)

    # ---- cross-check: Keras 3 (JAX) forward with the Keras 2-converted weights
    keras, model3 = build_keras3()
    for name in H5_DATASETS:
        model3.get_layer(name).set_weights(conv[name])
    probs3, h1_3, h2_3 = model3.predict(ids, batch_size=len(ids), verbose=0)
    cross = {
        "probabilities": float(np.max(np.abs(probs3 - probs))),
        "rnn_1": float(np.max(np.abs(h1_3 - h1))),
        "rnn_2": float(np.max(np.abs(h2_3 - h2))),
    }
    assert max(cross.values()) < CROSS_CHECK_TOL, cross
    keras3_error = keras3_rejects_file(keras)

    # ---- the import trap: biases summed, per-gate kernel re-layout skipped
    wrong2, _ = build_keras2()
    wrong2.load_weights(str(H5_PATH), by_name=True)
    for name in ("rnn_1", "rnn_2"):
        k_raw, rk_raw, b_raw = raw[name]
        wrong2.get_layer(name).set_weights([k_raw, rk_raw, b_raw[:512] + b_raw[512:]])
    wrong_probs = wrong2.predict(ids.astype(np.float32), batch_size=len(ids), verbose=0)

    cases = []
    for i, text in enumerate(SEED_TEXTS):
        p = probs[i]
        order = np.argsort(-p.astype(np.float64), kind="stable")
        top5 = [[int(j), index_char[int(j)], float(str(p[j]))] for j in order[:5]]
        w = int(np.argmax(wrong_probs[i]))
        cases.append({
            "name": f"seed{i}",
            "seed_text": text,
            "input_ids": [int(v) for v in ids[i]],
            "expected": {
                "probabilities": f32(p),
                "top5": top5,
                "rnn_1_last_h": f32(h1[i, -1]),
                "rnn_2_last_h": f32(h2[i, -1]),
                "attention_weights": f32(att[i]),
            },
            "wrong_import_top1": [w, index_char[w], float(str(wrong_probs[i][w]))],
            "cross_check_max_abs_diff_keras3": {
                "probabilities": float(np.max(np.abs(probs3[i] - p))),
                "rnn_1_last_h": float(np.max(np.abs(h1_3[i, -1] - h1[i, -1]))),
                "rnn_2_last_h": float(np.max(np.abs(h2_3[i, -1] - h2[i, -1]))),
            },
        })
        print(f"{text!r}: top5 {[(c, round(q, 4)) for _, c, q in top5]}  wrong-import top1 {index_char[w]!r}")

    import jax
    doc = {
        "generator": "scripts/gen_textgenrnn_fixture.py",
        "oracle": (
            f"Keras 2 code shipped as tensorflow.python.keras in tensorflow_cpu {tf.__version__}: "
            "textgenrnn model built from its layers (LSTMV1 = Keras 2 LSTM, recurrent_activation='sigmoid'), "
            "weights loaded by model.load_weights(hdf5, by_name=True) whose hdf5_format."
            "preprocess_weights_for_loading -> _convert_rnn_weights -> convert_lstm_weights(from_cudnn=True) "
            "converted the CuDNNLSTM weights; forward by model.predict (float32, CPU). "
            f"Cross-checked with Keras {keras.__version__} (JAX {jax.__version__}) LSTM forward on the converted "
            f"weights: max abs diff {max(cross.values()):.2e} (asserted < {CROSS_CHECK_TOL}). Keras 3's own "
            f"legacy_h5_format has no CuDNN conversion and refuses the file: {keras3_error!r}"
        ),
        "versions": {
            "tensorflow_cpu": tf.__version__, "keras_2_code": "tensorflow.python.keras (frozen Keras 2)",
            "keras": keras.__version__, "jax": jax.__version__, "numpy": np.__version__,
            "h5py": h5py.__version__, "weights_keras_version": "2.1.5",
        },
        "weights": {
            "hdf5": "shared/fixtures/models/keras_textgenrnn_cudnnlstm_weights/textgenrnn_weights.hdf5",
            "vocab": "shared/fixtures/models/keras_textgenrnn_cudnnlstm_weights/textgenrnn_vocab.json",
            "datasets": H5_DATASETS,
        },
        "cases": cases,
        "note": (
            "Vocab: textgenrnn_vocab.json maps char -> index (1..464, includes the meta token '<s>' = "
            f"{vocab['<s>']}); index 0 is padding and also unknown chars (vocab.get(ch, 0)); output index j "
            "is the char with vocab index j (index 0 = padding, never a char). input_ids = textgenrnn_encode_"
            "sequence(list(seed_text)): ids of the chars, keep the last 40, left-pad with 0 (pad_sequences "
            "'pre'/'pre'); no '<s>' is prepended here (textgenrnn.generate() would prepend it). Model: "
            "Input(40) -> Embedding(465,100) -> LSTM rnn_1(128, seq) -> LSTM rnn_2(128, seq) -> "
            "concat[embedding, rnn_1, rnn_2] (356) -> AttentionWeightedAverage -> Dense(465, softmax); no "
            "masking. Attention (textgenrnn/AttentionWeightedAverage.py): logits_t = x_t . attention_W, "
            "a = exp(logits - max_t logits), att = a / (sum_t a + 1e-7), out = sum_t att_t x_t (no tanh, no "
            "bias). LSTM gates i,f,c,o with sigmoid/tanh. CuDNN -> Keras conversion (Keras 2 "
            "_convert_rnn_weights): split kernel [in,512] into 4 gate blocks [in,128], each g -> "
            "g.T.reshape(g.shape, order='F'); recurrent kernel per gate g -> g.T; bias = b[:512] + b[512:]. "
            "rnn_*_last_h = the layer's output at the last timestep (index 39). attention_weights = att over "
            "the 40 timesteps. wrong_import_top1 = [index, char, prob] from the same Keras 2 model with biases "
            "summed but kernels loaded raw (no per-gate re-layout); it depends on the seed and can be a letter "
            "(seed0: 'r'), so a trap test should check it differs from top5[0] / equals the recorded value, not "
            "that it is a non-letter. Probabilities are float32 values written "
            "as the shortest decimal that round-trips."
        ),
    }
    OUT_PATH.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf8")
    print(f"{OUT_PATH.relative_to(REPO)}: {len(cases)} cases, {OUT_PATH.stat().st_size} bytes; cross {cross}")


if __name__ == "__main__":
    sys.exit(main())
