"""Generate the golden LSTM fixtures in test/fixtures/ from real framework runs.

Writes three files, each {generator, versions, cases}:
  test/fixtures/lstm-keras.json    Keras 3 (JAX backend) keras.layers.LSTM
  test/fixtures/lstm-pytorch.json  torch.nn.LSTM (CPU, float32, batch_first)
  test/fixtures/lstm-onnx.json     an ONNX LSTM node run by onnxruntime (CPU)

Every expected value comes from the framework itself; this script only draws
seeded random weights/inputs, feeds them in, and records what comes out.
Values are float32, written with the shortest decimal that round-trips float32.

Run from the repository root (needs scripts/requirements-fixtures.txt):
    KERAS_BACKEND=jax python3 scripts/gen_fixtures.py
The output is deterministic: each case's RNG seed is the CRC32 of its name.
"""

import json
import os
import zlib
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"  # must precede the keras import

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

torch.set_num_threads(1)

OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures"
TOLERANCE = {"abs": 1e-5, "rel": 1e-5}
VERSIONS = {
    "keras": keras.__version__,
    "jax": jax.__version__,
    "torch": torch.__version__.split("+")[0],
    "onnxruntime": ort.__version__,
    "numpy": np.__version__,
}
KERAS_ORACLE = f"keras {keras.__version__} (jax)"
TORCH_ORACLE = f"torch {VERSIONS['torch']}"
ORT_ORACLE = f"onnxruntime {ort.__version__}"
HARD_SIGMOID_K2 = {"name": "hard_sigmoid", "alpha": 0.2, "beta": 0.5}
ONNX_OPSET = 14

# ---------------------------------------------------------------- helpers


def f32(a):
    """Nested lists of floats that round-trip exactly to the float32 values."""
    a = np.asarray(a, dtype=np.float32)
    flat = [float(str(v)) for v in a.ravel()]
    assert np.array_equal(np.array(flat, dtype=np.float32), a.ravel())
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def uniform(rng, shape, scale):
    return rng.uniform(-scale, scale, size=shape).astype(np.float32)


def base_config(I, U, **overrides):
    config = {
        "inputSize": I, "units": U, "activation": "tanh", "recurrentActivation": "sigmoid",
        "useBias": True, "returnSequences": True, "goBackwards": False, "stateful": False,
        "zeroOutputForMask": False,
    }
    config.update(overrides)
    return config


def make_call(x, expected, h0=None, c0=None, mask=None, lengths=None, reset=False):
    call = {"input": f32(x)}
    if h0 is not None:
        call["initialState"] = {"h": f32(h0), "c": f32(c0)}
    if mask is not None:
        call["mask"] = np.asarray(mask, dtype=int).tolist()
    if lengths is not None:
        call["sequenceLengths"] = [int(n) for n in lengths]
    if reset:
        call["resetStatesBefore"] = True
    output, h, c = expected
    call["expected"] = {"output": f32(output), "h": f32(h), "c": f32(c)}
    return call


def make_case(name, oracle, layout, config, weights, calls):
    return {"name": name, "oracle": oracle, "layout": layout, "config": config,
            "weights": {k: f32(v) for k, v in weights.items()}, "calls": calls,
            "tolerance": TOLERANCE}


# ---------------------------------------------------------------- Keras 3


def keras_activation(a):
    if a == HARD_SIGMOID_K2:
        return lambda x: keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)
    return a


def keras_case(name, B, T, I, U, activation="tanh", recurrent="sigmoid", use_bias=True,
               return_sequences=True, go_backwards=False, zero_output=False, mask=None,
               initial_state=False, stateful_calls=0, w_scale=0.5, x_scale=1.0):
    """One Keras LSTM case; stateful_calls=n makes n calls, resetting before the last."""
    rng = rng_for(name)
    weights = {"kernel": uniform(rng, (I, 4 * U), w_scale),
               "recurrentKernel": uniform(rng, (U, 4 * U), w_scale)}
    if use_bias:
        weights["bias"] = uniform(rng, (4 * U,), w_scale)
    layer = keras.layers.LSTM(
        U, activation=keras_activation(activation),
        recurrent_activation=keras_activation(recurrent), use_bias=use_bias,
        return_sequences=return_sequences, return_state=True, go_backwards=go_backwards,
        stateful=bool(stateful_calls), zero_output_for_mask=zero_output)
    layer.build((B, T, I))
    layer.set_weights(list(weights.values()))

    calls = []
    for k in range(max(stateful_calls, 1)):
        x = uniform(rng, (B, T, I), x_scale)
        reset = bool(stateful_calls) and k == stateful_calls - 1
        if reset:
            layer.reset_states()
        kwargs, h0, c0 = {}, None, None
        if initial_state:
            h0, c0 = uniform(rng, (B, U), 1.0), uniform(rng, (B, U), 1.0)
            kwargs["initial_state"] = [h0, c0]
        if mask is not None:
            kwargs["mask"] = np.asarray(mask, dtype=bool)
        out, h, c = (np.asarray(t) for t in layer(x, **kwargs))
        calls.append(make_call(x, (out, h, c), h0, c0, mask=mask, reset=reset))

    config = base_config(I, U, activation=activation, recurrentActivation=recurrent,
                         useBias=use_bias, returnSequences=return_sequences,
                         goBackwards=go_backwards, stateful=bool(stateful_calls),
                         zeroOutputForMask=zero_output)
    return make_case(name, KERAS_ORACLE, "keras", config, weights, calls)


MASK_HOLES = [[1, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]]
MASK_LEADING_ZERO = [[0, 1, 1, 0, 1, 1], [0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]]


def keras_cases():
    cases = []
    shapes = [((1, 1, 1, 1), True), ((1, 1, 2, 3), True), ((1, 5, 1, 4), False),
              ((2, 7, 3, 5), True), ((3, 4, 8, 8), False), ((2, 6, 5, 9), True),
              ((1, 3, 4, 16), True), ((2, 5, 16, 17), False), ((2, 4, 12, 128), True)]
    for (B, T, I, U), seq in shapes:
        name = f"keras-shape-b{B}-t{T}-i{I}-u{U}" + ("" if seq else "-last")
        cases.append(keras_case(name, B, T, I, U, return_sequences=seq))

    acts = ["tanh", "sigmoid", "hard_sigmoid", "linear", "relu", "softsign", "elu"]
    for a in acts:
        cases.append(keras_case(f"keras-activation-{a.replace('_', '-')}", 2, 5, 3, 6,
                                activation=a))
    for a in acts[:-1]:
        if a != "sigmoid":  # tanh/sigmoid is already keras-activation-tanh
            cases.append(keras_case(f"keras-recurrent-{a.replace('_', '-')}", 2, 5, 3, 6,
                                    recurrent=a))
    cases.append(keras_case("keras-recurrent-hard-sigmoid-keras2", 2, 5, 3, 6,
                            recurrent=HARD_SIGMOID_K2))

    cases += [
        keras_case("keras-no-bias", 2, 5, 3, 6, use_bias=False),
        keras_case("keras-go-backwards", 2, 5, 3, 6, go_backwards=True),
        keras_case("keras-go-backwards-last", 2, 5, 3, 6, go_backwards=True,
                   return_sequences=False),
        keras_case("keras-initial-state", 2, 5, 3, 6, initial_state=True),
        keras_case("keras-saturated", 2, 5, 3, 6, w_scale=5.0, x_scale=10.0),
        keras_case("keras-mask-holes", 3, 6, 3, 5, mask=MASK_HOLES),
        keras_case("keras-mask-holes-last", 3, 6, 3, 5, mask=MASK_HOLES,
                   return_sequences=False),
        keras_case("keras-mask-go-backwards", 3, 6, 3, 5, mask=MASK_HOLES, go_backwards=True),
        keras_case("keras-mask-go-backwards-last", 3, 6, 3, 5, mask=MASK_HOLES,
                   go_backwards=True, return_sequences=False),
        keras_case("keras-mask-zero-output", 3, 6, 3, 5, mask=MASK_HOLES, zero_output=True),
        keras_case("keras-mask-zero-output-last", 3, 6, 3, 5, mask=MASK_HOLES,
                   zero_output=True, return_sequences=False),
        keras_case("keras-mask-initial-state", 3, 6, 3, 5, mask=MASK_LEADING_ZERO,
                   initial_state=True),
        keras_case("keras-mask-initial-state-last", 3, 6, 3, 5, mask=MASK_LEADING_ZERO,
                   initial_state=True, return_sequences=False),
        keras_case("keras-stateful", 2, 4, 3, 5, stateful_calls=4),
    ]
    return cases


# ---------------------------------------------------------------- PyTorch


def torch_case(name, B, T, I, U, initial_state=False, lengths=None, return_sequences=True):
    rng = rng_for(name)
    weights = {"weight_ih": uniform(rng, (4 * U, I), 0.5),
               "weight_hh": uniform(rng, (4 * U, U), 0.5),
               "bias_ih": uniform(rng, (4 * U,), 0.5),
               "bias_hh": uniform(rng, (4 * U,), 0.5)}
    lstm = torch.nn.LSTM(I, U, batch_first=True)
    with torch.no_grad():
        for k, v in weights.items():
            getattr(lstm, k + "_l0").copy_(torch.from_numpy(v))
    assert {n for n, _ in lstm.named_parameters()} == {k + "_l0" for k in weights}

    x = uniform(rng, (B, T, I), 1.0)
    h0 = c0 = None
    state = None
    if initial_state:
        h0, c0 = uniform(rng, (B, U), 1.0), uniform(rng, (B, U), 1.0)
        state = (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None])
    with torch.no_grad():
        xt = torch.from_numpy(x)
        if lengths is not None:
            xt = torch.nn.utils.rnn.pack_padded_sequence(
                xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        y, (hn, cn) = lstm(xt, state)
        if lengths is not None:
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=T)
    out = y.numpy() if return_sequences else hn[-1].numpy()
    call = make_call(x, (out, hn[0].numpy(), cn[0].numpy()), h0, c0, lengths=lengths)
    config = base_config(I, U, returnSequences=return_sequences)
    return make_case(name, TORCH_ORACLE, "pytorch", config, weights, [call])


def torch_cases():
    return [
        torch_case("pytorch-shape-b1-t1-i1-u1", 1, 1, 1, 1),
        torch_case("pytorch-shape-b2-t5-i3-u6", 2, 5, 3, 6),
        torch_case("pytorch-shape-b3-t4-i7-u20", 3, 4, 7, 20),
        torch_case("pytorch-initial-state", 2, 5, 3, 6, initial_state=True),
        torch_case("pytorch-sequence-lengths", 3, 5, 3, 6, lengths=[5, 2, 4]),
        torch_case("pytorch-sequence-lengths-initial-state", 3, 5, 3, 6, lengths=[5, 2, 4],
                   initial_state=True),
        torch_case("pytorch-last", 2, 5, 3, 6, return_sequences=False),
    ]


# ---------------------------------------------------------------- ONNX


ONNX_ACTS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "HardSigmoid": HARD_SIGMOID_K2}


def onnx_case(name, B, T, I, U, initial_state=False, lengths=None, peepholes=False,
              clip=None, input_forget=False, activations=("Sigmoid", "Tanh", "Tanh"),
              w_scale=0.5):
    rng = rng_for(name)
    weights = {"W": uniform(rng, (1, 4 * U, I), w_scale),
               "R": uniform(rng, (1, 4 * U, U), w_scale),
               "B": uniform(rng, (1, 8 * U), w_scale)}
    if peepholes:
        weights["P"] = uniform(rng, (1, 3 * U), w_scale)
    x = uniform(rng, (B, T, I), 1.0)
    h0 = c0 = None
    if initial_state:
        h0, c0 = uniform(rng, (B, U), 1.0), uniform(rng, (B, U), 1.0)

    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2)), **weights}
    if lengths is not None:
        feeds["sequence_lens"] = np.asarray(lengths, dtype=np.int32)
    if initial_state:
        feeds["initial_h"], feeds["initial_c"] = h0[None], c0[None]
    names = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    attrs = {"hidden_size": U, "direction": "forward", "activations": list(activations)}
    if clip is not None:
        attrs["clip"] = float(clip)
    if input_forget:
        attrs["input_forget"] = 1
    node = helper.make_node("LSTM", [n if n in feeds else "" for n in names],
                            ["Y", "Y_h", "Y_c"], **attrs)
    dtypes = {"sequence_lens": TensorProto.INT32}
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, dtypes.get(n, TensorProto.FLOAT), feeds[n].shape)
         for n in names if n in feeds],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, (T, 1, B, U))]
        + [helper.make_tensor_value_info(n, TensorProto.FLOAT, (1, B, U)) for n in ("Y_h", "Y_c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    y, yh, yc = sess.run(None, feeds)

    out = y[:, 0].transpose(1, 0, 2)  # [T,1,B,U] -> [B,T,U]
    call = make_call(x, (out, yh[0], yc[0]), h0, c0, lengths=lengths)
    rec, act, cell = (ONNX_ACTS[a] for a in activations)
    config = base_config(I, U, activation=act, recurrentActivation=rec, cellActivation=cell)
    if clip is not None:
        config["clip"] = float(clip)
    if input_forget:
        config["inputForget"] = True
    return make_case(name, ORT_ORACLE, "onnx", config, weights, [call])


def onnx_cases():
    cases = [
        onnx_case("onnx-plain", 2, 4, 3, 5),
        onnx_case("onnx-initial-state", 2, 4, 3, 5, initial_state=True),
        onnx_case("onnx-sequence-lengths", 2, 4, 3, 5, lengths=[4, 1]),
        onnx_case("onnx-sequence-lengths-initial-state", 2, 4, 3, 5, lengths=[4, 1],
                  initial_state=True),
        onnx_case("onnx-peepholes", 2, 4, 3, 5, peepholes=True),
        onnx_case("onnx-clip", 2, 4, 3, 5, clip=0.5, w_scale=2.0),
        onnx_case("onnx-input-forget", 2, 4, 3, 5, input_forget=True),
        onnx_case("onnx-hard-sigmoid-tanh-sigmoid", 2, 4, 3, 5,
                  activations=("HardSigmoid", "Tanh", "Sigmoid")),
    ]
    try:  # a zero length is legal ONNX, but not every runtime accepts it
        cases.append(onnx_case("onnx-sequence-length-zero", 3, 4, 3, 5, lengths=[4, 0, 2],
                               initial_state=True))
    except Exception as e:  # noqa: BLE001
        print(f"onnx-sequence-length-zero skipped: onnxruntime refused it: {e}")
    return cases


# ---------------------------------------------------------------- main


def write(filename, cases):
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    doc = {"generator": "scripts/gen_fixtures.py", "versions": VERSIONS, "cases": cases}
    path = OUT_DIR / filename
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"{path.relative_to(OUT_DIR.parent.parent)}: {len(cases)} cases, "
          f"{path.stat().st_size} bytes")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write("lstm-keras.json", keras_cases())
    write("lstm-pytorch.json", torch_cases())
    write("lstm-onnx.json", onnx_cases())


if __name__ == "__main__":
    main()
