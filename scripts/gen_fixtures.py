"""Generate the golden LSTM fixtures in test/fixtures/ from real framework runs.

Writes these files, each {generator, versions, cases}:
  test/fixtures/lstm-keras.json           Keras 3 (JAX backend) keras.layers.LSTM
  test/fixtures/lstm-pytorch.json         torch.nn.LSTM (CPU, float32, batch_first)
  test/fixtures/lstm-onnx.json            an ONNX LSTM node run by onnxruntime (CPU)
  test/fixtures/lstm-onnx-reverse.json    ONNX LSTM, direction "reverse" (as goBackwards)
  test/fixtures/gru-keras.json            keras.layers.GRU (reset_after true and false)
  test/fixtures/gru-pytorch.json          torch.nn.GRU
  test/fixtures/gru-onnx.json             an ONNX GRU node (linear_before_reset 0 and 1)
  test/fixtures/bidirectional-keras.json  keras.layers.Bidirectional(LSTM | GRU)
  test/fixtures/bidirectional-pytorch.json torch.nn.LSTM / nn.GRU (bidirectional=True)
  test/fixtures/bidirectional-onnx.json   ONNX LSTM / GRU, direction "bidirectional"
  test/fixtures/sequential-keras.json     keras.Sequential stacks of LSTM/GRU/Bidirectional/Dense

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
from fixture_utils import f32  # noqa: E402

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
    weights = torch_rnn_weights(rng, "lstm", I, U)
    lstm = torch_module(torch.nn.LSTM(I, U, batch_first=True), weights)

    x = uniform(rng, (B, T, I), 1.0)
    h0 = c0 = None
    state = None
    if initial_state:
        h0, c0 = uniform(rng, (B, U), 1.0), uniform(rng, (B, U), 1.0)
        state = (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None])
    y, (hn, cn) = torch_run(lstm, x, state, lengths, T)
    out = y if return_sequences else hn[-1].numpy()
    call = make_call(x, (out, hn[0].numpy(), cn[0].numpy()), h0, c0, lengths=lengths)
    config = base_config(I, U, returnSequences=return_sequences)
    return make_case(name, TORCH_ORACLE, "pytorch", config, weights, [call])


# The PyTorch cases of either cell: (name after the prefix, B, T, I, U, options).
TORCH_SPECS = [
    ("shape-b1-t1-i1-u1", 1, 1, 1, 1, {}),
    ("shape-b2-t5-i3-u6", 2, 5, 3, 6, {}),
    ("shape-b3-t4-i7-u20", 3, 4, 7, 20, {}),
    ("initial-state", 2, 5, 3, 6, {"initial_state": True}),
    ("sequence-lengths", 3, 5, 3, 6, {"lengths": [5, 2, 4]}),
    ("sequence-lengths-initial-state", 3, 5, 3, 6, {"lengths": [5, 2, 4], "initial_state": True}),
    ("last", 2, 5, 3, 6, {"return_sequences": False}),
]


def torch_cases():
    return [torch_case(f"pytorch-{n}", B, T, I, U, **o) for n, B, T, I, U, o in TORCH_SPECS]


# ---------------------------------------------------------------- ONNX


ONNX_ACTS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "HardSigmoid": HARD_SIGMOID_K2}


def run_onnx_graph(graph, feeds):
    """Check an ONNX graph and run it once on onnxruntime's CPU provider (1 thread)."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


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
    y, yh, yc = run_onnx_graph(graph, feeds)

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


# ---------------------------------------------------------------- GRU / wrapper helpers


def f32_tree(value):
    """f32() on every array leaf of nested dicts / lists / tuples."""
    if isinstance(value, dict):
        return {k: f32_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [f32_tree(v) for v in value]
    return f32(value)


def gru_config(I, U, reset_after, **overrides):
    config = base_config(I, U, **overrides)
    config["resetAfter"] = bool(reset_after)
    return config


def rnn_config(kind, I, U, reset_after=True, **overrides):
    if kind == "lstm":
        return base_config(I, U, **overrides)
    return gru_config(I, U, reset_after, **overrides)


def gru_call(x, output, h, h0=None, mask=None, lengths=None, reset=False):
    call = {"input": f32(x)}
    if h0 is not None:
        call["initialState"] = {"h": f32(h0)}
    if mask is not None:
        call["mask"] = np.asarray(mask, dtype=int).tolist()
    if lengths is not None:
        call["sequenceLengths"] = [int(n) for n in lengths]
    if reset:
        call["resetStatesBefore"] = True
    call["expected"] = {"output": f32(output), "h": f32(h)}
    return call


def wrapper_case(name, oracle, layout, config, weights, calls, note=None):
    case = {"name": name, "oracle": oracle, "layout": layout, "config": config,
            "weights": f32_tree(weights), "calls": calls, "tolerance": TOLERANCE}
    if note:
        case["note"] = note
    return case


def keras_rnn_weights(rng, kind, I, U, reset_after=True, use_bias=True, scale=0.5):
    """Keras layout: kernel [I,GU], recurrentKernel [U,GU], bias [GU] (GRU reset_after: [2,3U])."""
    G = 4 if kind == "lstm" else 3
    weights = {"kernel": uniform(rng, (I, G * U), scale),
               "recurrentKernel": uniform(rng, (U, G * U), scale)}
    if use_bias:
        shape = (2, G * U) if kind == "gru" and reset_after else (G * U,)
        weights["bias"] = uniform(rng, shape, scale)
    return weights


def keras_rnn_layer(kind, U, reset_after=True, **kwargs):
    if kind == "lstm":
        return keras.layers.LSTM(U, **kwargs)
    return keras.layers.GRU(U, reset_after=reset_after, **kwargs)


def torch_rnn_weights(rng, kind, I, U):
    G = 4 if kind == "lstm" else 3
    return {"weight_ih": uniform(rng, (G * U, I), 0.5),
            "weight_hh": uniform(rng, (G * U, U), 0.5),
            "bias_ih": uniform(rng, (G * U,), 0.5),
            "bias_hh": uniform(rng, (G * U,), 0.5)}


def torch_module(module, *directions):
    """Sets a one-layer torch RNN's parameters: one dict of weights (names without the suffix)
    per direction, forward (_l0) then backward (_l0_reverse). Every parameter must be given."""
    expected = set()
    with torch.no_grad():
        for weights, suffix in zip(directions, ("_l0", "_l0_reverse")):
            for k, v in weights.items():
                getattr(module, k + suffix).copy_(torch.from_numpy(v))
                expected.add(k + suffix)
    assert {n for n, _ in module.named_parameters()} == expected
    return module


def torch_run(module, x, state, lengths, T):
    """Run a batch_first torch RNN, packing by `lengths` (enforce_sorted=False) when given."""
    with torch.no_grad():
        xt = torch.from_numpy(x)
        if lengths is not None:
            xt = torch.nn.utils.rnn.pack_padded_sequence(
                xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        y, hidden = module(xt, state)
        if lengths is not None:
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=T)
    return y.numpy(), hidden


def run_onnx_node(op, name, feeds, input_names, attrs, outputs):
    """One `op` node on onnxruntime; outputs is [(name, shape)], absent inputs left empty."""
    node = helper.make_node(op, [n if n in feeds else "" for n in input_names],
                            [n for n, _ in outputs], **attrs)
    dtypes = {"sequence_lens": TensorProto.INT32}
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, dtypes.get(n, TensorProto.FLOAT), feeds[n].shape)
         for n in input_names if n in feeds],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in outputs])
    return run_onnx_graph(graph, feeds)


# ---------------------------------------------------------------- GRU


def keras_gru_case(name, B, T, I, U, reset_after=True, activation="tanh", recurrent="sigmoid",
                   use_bias=True, return_sequences=True, go_backwards=False, zero_output=False,
                   mask=None, initial_state=False, stateful_calls=0):
    """One Keras GRU case; stateful_calls=n makes n calls, resetting before the last."""
    rng = rng_for(name)
    weights = keras_rnn_weights(rng, "gru", I, U, reset_after, use_bias)
    layer = keras.layers.GRU(
        U, activation=keras_activation(activation),
        recurrent_activation=keras_activation(recurrent), use_bias=use_bias,
        return_sequences=return_sequences, return_state=True, go_backwards=go_backwards,
        stateful=bool(stateful_calls), zero_output_for_mask=zero_output,
        reset_after=reset_after)
    layer.build((B, T, I))
    layer.set_weights(list(weights.values()))

    calls = []
    for k in range(max(stateful_calls, 1)):
        x = uniform(rng, (B, T, I), 1.0)
        reset = bool(stateful_calls) and k == stateful_calls - 1
        if reset:
            layer.reset_states()
        kwargs, h0 = {}, None
        if initial_state:
            h0 = uniform(rng, (B, U), 1.0)
            kwargs["initial_state"] = [h0]
        if mask is not None:
            kwargs["mask"] = np.asarray(mask, dtype=bool)
        out, h = (np.asarray(t) for t in layer(x, **kwargs))
        calls.append(gru_call(x, out, h, h0, mask=mask, reset=reset))

    config = gru_config(I, U, reset_after, activation=activation, recurrentActivation=recurrent,
                        useBias=use_bias, returnSequences=return_sequences,
                        goBackwards=go_backwards, stateful=bool(stateful_calls),
                        zeroOutputForMask=zero_output)
    return make_case(name, KERAS_ORACLE, "keras", config, weights, calls)


def keras_gru_cases():
    cases = []
    for reset_after in (True, False):
        p = "keras-gru-" + ("reset-after" if reset_after else "reset-before")

        def case(suffix, B=2, T=5, I=3, U=6, **kw):
            return keras_gru_case(f"{p}-{suffix}", B, T, I, U, reset_after=reset_after, **kw)

        for B, T, I, U in [(1, 1, 1, 1), (2, 5, 3, 6), (2, 4, 12, 17)]:
            cases.append(case(f"shape-b{B}-t{T}-i{I}-u{U}", B, T, I, U))
        cases += [
            case("relu-hard-sigmoid", activation="relu", recurrent="hard_sigmoid"),
            case("no-bias", use_bias=False),
            case("go-backwards", go_backwards=True),
            case("go-backwards-last", go_backwards=True, return_sequences=False),
            case("initial-state", initial_state=True),
            case("last", return_sequences=False),
            case("mask-holes", 3, 6, 3, 5, mask=MASK_HOLES),
            case("mask-holes-last", 3, 6, 3, 5, mask=MASK_HOLES, return_sequences=False),
            case("mask-go-backwards", 3, 6, 3, 5, mask=MASK_HOLES, go_backwards=True),
            case("mask-zero-output", 3, 6, 3, 5, mask=MASK_HOLES, zero_output=True),
            case("mask-initial-state", 3, 6, 3, 5, mask=MASK_LEADING_ZERO, initial_state=True),
            case("stateful", 2, 4, 3, 5, stateful_calls=4),
        ]
    return cases


def torch_gru_case(name, B, T, I, U, initial_state=False, lengths=None, return_sequences=True):
    rng = rng_for(name)
    weights = torch_rnn_weights(rng, "gru", I, U)
    gru = torch_module(torch.nn.GRU(I, U, batch_first=True), weights)

    x = uniform(rng, (B, T, I), 1.0)
    h0 = uniform(rng, (B, U), 1.0) if initial_state else None
    state = torch.from_numpy(h0)[None] if initial_state else None
    y, hn = torch_run(gru, x, state, lengths, T)
    out = y if return_sequences else hn[-1].numpy()
    call = gru_call(x, out, hn[0].numpy(), h0, lengths=lengths)
    config = gru_config(I, U, True, returnSequences=return_sequences)
    return make_case(name, TORCH_ORACLE, "pytorch", config, weights, [call])


def torch_gru_cases():
    return [torch_gru_case(f"pytorch-gru-{n}", B, T, I, U, **o) for n, B, T, I, U, o in TORCH_SPECS]


def onnx_gru_case(name, B, T, I, U, linear_before_reset, initial_state=False, lengths=None):
    rng = rng_for(name)
    weights = {"W": uniform(rng, (1, 3 * U, I), 0.5),
               "R": uniform(rng, (1, 3 * U, U), 0.5),
               "B": uniform(rng, (1, 6 * U), 0.5)}
    x = uniform(rng, (B, T, I), 1.0)
    h0 = uniform(rng, (B, U), 1.0) if initial_state else None

    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2)), **weights}
    if lengths is not None:
        feeds["sequence_lens"] = np.asarray(lengths, dtype=np.int32)
    if initial_state:
        feeds["initial_h"] = h0[None]
    attrs = {"hidden_size": U, "direction": "forward", "activations": ["Sigmoid", "Tanh"],
             "linear_before_reset": int(linear_before_reset)}
    y, yh = run_onnx_node("GRU", name, feeds,
                          ["X", "W", "R", "B", "sequence_lens", "initial_h"], attrs,
                          [("Y", (T, 1, B, U)), ("Y_h", (1, B, U))])
    out = y[:, 0].transpose(1, 0, 2)  # [T,1,B,U] -> [B,T,U]
    call = gru_call(x, out, yh[0], h0, lengths=lengths)
    config = gru_config(I, U, linear_before_reset != 0)
    return make_case(name, ORT_ORACLE, "onnx", config, weights, [call])


def onnx_gru_cases():
    cases = []
    for lbr in (0, 1):
        p = f"onnx-gru-lbr{lbr}"
        cases += [
            onnx_gru_case(f"{p}-shape-b1-t1-i1-u1", 1, 1, 1, 1, lbr),
            onnx_gru_case(f"{p}-plain", 2, 4, 3, 5, lbr),
            onnx_gru_case(f"{p}-initial-state", 2, 4, 3, 5, lbr, initial_state=True),
            onnx_gru_case(f"{p}-sequence-lengths", 3, 4, 3, 5, lbr, lengths=[4, 1, 3]),
            onnx_gru_case(f"{p}-sequence-lengths-initial-state", 3, 4, 3, 5, lbr,
                          lengths=[4, 1, 3], initial_state=True),
        ]
    return cases


# ---------------------------------------------------------------- ONNX LSTM, direction "reverse"

ONNX_REVERSE_NOTE = (
    "ONNX LSTM with direction 'reverse'. ONNX returns Y in input (time) order; "
    "expected.output here is Y reversed along time, i.e. in processing order, "
    "which is what goBackwards (Keras semantics) returns. h and c are Y_h and Y_c as-is.")


def onnx_reverse_case(name, B, T, I, U, initial_state=False):
    rng = rng_for(name)
    weights = {"W": uniform(rng, (1, 4 * U, I), 0.5),
               "R": uniform(rng, (1, 4 * U, U), 0.5),
               "B": uniform(rng, (1, 8 * U), 0.5)}
    x = uniform(rng, (B, T, I), 1.0)
    h0 = c0 = None
    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2)), **weights}
    if initial_state:
        h0, c0 = uniform(rng, (B, U), 1.0), uniform(rng, (B, U), 1.0)
        feeds["initial_h"], feeds["initial_c"] = h0[None], c0[None]
    attrs = {"hidden_size": U, "direction": "reverse"}
    y, yh, yc = run_onnx_node(
        "LSTM", name, feeds, ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c"],
        attrs, [("Y", (T, 1, B, U)), ("Y_h", (1, B, U)), ("Y_c", (1, B, U))])
    out = y[::-1, 0].transpose(1, 0, 2)  # input order -> processing order, [B,T,U]
    call = make_call(x, (out, yh[0], yc[0]), h0, c0)
    config = base_config(I, U, goBackwards=True, cellActivation="tanh")
    case = make_case(name, ORT_ORACLE, "onnx", config, weights, [call])
    case["note"] = ONNX_REVERSE_NOTE
    return case


def onnx_reverse_cases():
    return [
        onnx_reverse_case("onnx-reverse", 2, 4, 3, 5),
        onnx_reverse_case("onnx-reverse-initial-state", 2, 4, 3, 5, initial_state=True),
    ]


# ---------------------------------------------------------------- Bidirectional

KERAS_BIDI_NOTE = (
    "Keras Bidirectional runs a copy of the layer with go_backwards=True; when returnSequences "
    "it flips that layer's output back to input order (index t = the backward state after "
    "reading steps T-1..t) before merging; without returnSequences it uses the backward "
    "layer's last output, i.e. after reading step 0. mergeMode null: output is "
    "[forward, backward] in that form.")
KERAS_BIDI_MASK_NOTE = KERAS_BIDI_NOTE + (
    " Masking: Bidirectional forces zero_output_for_mask = return_sequences on BOTH inner "
    "layers (config.layer.zeroOutputForMask is the value passed to Keras, false), so with "
    "returnSequences masked steps output 0 in both directions; the backward layer reverses the "
    "mask with the input; without returnSequences each direction's last output repeats its "
    "last unmasked output (JAX backend: the held h).")


def keras_bidi_case(name, B, T, I, U, kind="lstm", merge_mode="concat", return_sequences=True,
                    mask=None, initial_state=False, reset_after=True):
    rng = rng_for(name)
    weights = {d: keras_rnn_weights(rng, kind, I, U, reset_after) for d in ("forward", "backward")}
    inner = keras_rnn_layer(kind, U, reset_after, return_sequences=return_sequences,
                            return_state=True)
    bidi = keras.layers.Bidirectional(inner, merge_mode=merge_mode)
    bidi.build((B, T, I))
    bidi.forward_layer.set_weights(list(weights["forward"].values()))
    bidi.backward_layer.set_weights(list(weights["backward"].values()))
    assert bidi.backward_layer.go_backwards and not bidi.forward_layer.go_backwards

    x = uniform(rng, (B, T, I), 1.0)
    names = ("h", "c") if kind == "lstm" else ("h",)
    kwargs, init = {}, None
    if initial_state:
        init = {d: {n: uniform(rng, (B, U), 1.0) for n in names} for d in ("forward", "backward")}
        kwargs["initial_state"] = list(init["forward"].values()) + list(init["backward"].values())
    if mask is not None:
        kwargs["mask"] = np.asarray(mask, dtype=bool)
    res = [np.asarray(t) for t in bidi(x, **kwargs)]
    n_out = 2 if merge_mode is None else 1
    output = res[:2] if merge_mode is None else res[0]
    st = res[n_out:]
    states = {"forward": dict(zip(names, st[:len(names)])),
              "backward": dict(zip(names, st[len(names):]))}

    call = {"input": f32(x)}
    if mask is not None:
        call["mask"] = np.asarray(mask, dtype=int).tolist()
    if init is not None:
        call["initialState"] = f32_tree(init)
    call["expected"] = {"output": f32_tree(output), "states": f32_tree(states)}
    config = {"layer": {"type": kind, **rnn_config(kind, I, U, reset_after,
                                                   returnSequences=return_sequences)},
              "mergeMode": merge_mode}
    note = KERAS_BIDI_MASK_NOTE if mask is not None else KERAS_BIDI_NOTE
    return wrapper_case(name, KERAS_ORACLE, "keras", config, weights, [call], note)


def keras_bidi_cases():
    cases = []
    for merge in ("concat", "sum", "mul", "ave", None):
        for seq in (True, False):
            name = f"keras-bidirectional-lstm-{merge or 'none'}" + ("" if seq else "-last")
            cases.append(keras_bidi_case(name, 2, 5, 3, 4, merge_mode=merge,
                                         return_sequences=seq))
    cases += [
        keras_bidi_case("keras-bidirectional-gru-concat", 2, 5, 3, 4, kind="gru"),
        keras_bidi_case("keras-bidirectional-gru-concat-last", 2, 5, 3, 4, kind="gru",
                        return_sequences=False),
        keras_bidi_case("keras-bidirectional-gru-reset-before-ave", 2, 5, 3, 4, kind="gru",
                        merge_mode="ave", reset_after=False),
        keras_bidi_case("keras-bidirectional-lstm-mask", 3, 6, 3, 4, mask=MASK_HOLES),
        keras_bidi_case("keras-bidirectional-lstm-mask-last", 3, 6, 3, 4, mask=MASK_HOLES,
                        return_sequences=False),
        keras_bidi_case("keras-bidirectional-lstm-mask-none", 3, 6, 3, 4, mask=MASK_HOLES,
                        merge_mode=None),
        keras_bidi_case("keras-bidirectional-gru-mask", 3, 6, 3, 4, kind="gru",
                        mask=MASK_HOLES),
        keras_bidi_case("keras-bidirectional-lstm-initial-state", 2, 5, 3, 4,
                        initial_state=True),
        keras_bidi_case("keras-bidirectional-lstm-initial-state-last", 2, 5, 3, 4,
                        initial_state=True, return_sequences=False),
        keras_bidi_case("keras-bidirectional-gru-initial-state", 2, 5, 3, 4, kind="gru",
                        initial_state=True),
    ]
    return cases


TORCH_BIDI_NOTE = (
    "torch bidirectional=True, batch_first: output [B,T,2U] = forward then backward on the last "
    "axis, backward in input order; with sequenceLengths (packed, enforce_sorted=False) the "
    "backward direction starts at each entry's last real step and padded outputs are 0. "
    "weights.backward are the *_l0_reverse parameters.")


def torch_bidi_case(name, B, T, I, U, kind="lstm", initial_state=False, lengths=None):
    rng = rng_for(name)
    weights = {d: torch_rnn_weights(rng, kind, I, U) for d in ("forward", "backward")}
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    module = torch_module(cls(I, U, batch_first=True, bidirectional=True), weights["forward"], weights["backward"])

    x = uniform(rng, (B, T, I), 1.0)
    names = ("h", "c") if kind == "lstm" else ("h",)
    init, state = None, None
    if initial_state:
        init = {d: {n: uniform(rng, (B, U), 1.0) for n in names} for d in ("forward", "backward")}
        stacked = [torch.from_numpy(np.stack([init["forward"][n], init["backward"][n]]))
                   for n in names]
        state = tuple(stacked) if kind == "lstm" else stacked[0]
    y, hidden = torch_run(module, x, state, lengths, T)
    finals = [t.numpy() for t in (hidden if kind == "lstm" else (hidden,))]
    states = {d: {n: f[k] for n, f in zip(names, finals)}
              for k, d in enumerate(("forward", "backward"))}

    call = {"input": f32(x)}
    if init is not None:
        call["initialState"] = f32_tree(init)
    if lengths is not None:
        call["sequenceLengths"] = [int(n) for n in lengths]
    call["expected"] = {"output": f32(y), "states": f32_tree(states)}
    config = {"layer": {"type": kind, **rnn_config(kind, I, U, True, returnSequences=True)},
              "mergeMode": "concat"}
    return wrapper_case(name, TORCH_ORACLE, "pytorch", config, weights, [call], TORCH_BIDI_NOTE)


def torch_bidi_cases():
    return [
        torch_bidi_case("pytorch-bidirectional-lstm", 2, 5, 3, 4),
        torch_bidi_case("pytorch-bidirectional-lstm-initial-state", 2, 5, 3, 4,
                        initial_state=True),
        torch_bidi_case("pytorch-bidirectional-lstm-sequence-lengths", 3, 5, 3, 4,
                        lengths=[5, 2, 4]),
        torch_bidi_case("pytorch-bidirectional-lstm-sequence-lengths-initial-state", 3, 5, 3, 4,
                        lengths=[5, 2, 4], initial_state=True),
        torch_bidi_case("pytorch-bidirectional-gru", 2, 5, 3, 4, kind="gru"),
        torch_bidi_case("pytorch-bidirectional-gru-sequence-lengths", 3, 5, 3, 4, kind="gru",
                        lengths=[5, 2, 4]),
    ]


ONNX_BIDI_NOTE = (
    "ONNX direction 'bidirectional': W/R/B/initial_h/initial_c split on the direction axis into "
    "weights.forward / weights.backward (each keeps a leading axis of 1); output is Y [T,2,B,U] "
    "as [B,T,2U] (forward then backward on the last axis, both in input order); with "
    "sequence_lens the backward direction starts at each entry's last real step and padded "
    "outputs are 0.")


def onnx_bidi_case(name, B, T, I, U, kind="lstm", initial_state=False, lengths=None,
                   linear_before_reset=1):
    rng = rng_for(name)
    G = 4 if kind == "lstm" else 3
    full = {"W": uniform(rng, (2, G * U, I), 0.5),
            "R": uniform(rng, (2, G * U, U), 0.5),
            "B": uniform(rng, (2, 2 * G * U), 0.5)}
    x = uniform(rng, (B, T, I), 1.0)
    names = ("h", "c") if kind == "lstm" else ("h",)
    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2)), **full}
    if lengths is not None:
        feeds["sequence_lens"] = np.asarray(lengths, dtype=np.int32)
    init = None
    if initial_state:
        init = {n: uniform(rng, (2, B, U), 1.0) for n in names}
        for n in names:
            feeds["initial_" + n] = init[n]
    inputs = ["X", "W", "R", "B", "sequence_lens", "initial_h"]
    outputs = [("Y", (T, 2, B, U)), ("Y_h", (2, B, U))]
    attrs = {"hidden_size": U, "direction": "bidirectional"}
    if kind == "lstm":
        inputs.append("initial_c")
        outputs.append(("Y_c", (2, B, U)))
    else:
        attrs["linear_before_reset"] = int(linear_before_reset)
    res = run_onnx_node(kind.upper(), name, feeds, inputs, attrs, outputs)
    y, finals = res[0], res[1:]
    out = y.transpose(2, 0, 1, 3).reshape(B, T, 2 * U)  # [T,2,B,U] -> [B,T,2U]

    dirs = ("forward", "backward")
    weights = {d: {k: v[k_dir:k_dir + 1] for k, v in full.items()} for k_dir, d in enumerate(dirs)}
    states = {d: {n: f[k] for n, f in zip(names, finals)} for k, d in enumerate(dirs)}
    call = {"input": f32(x)}
    if init is not None:
        call["initialState"] = f32_tree({d: {n: init[n][k] for n in names}
                                         for k, d in enumerate(dirs)})
    if lengths is not None:
        call["sequenceLengths"] = [int(n) for n in lengths]
    call["expected"] = {"output": f32(out), "states": f32_tree(states)}
    if kind == "lstm":
        layer = base_config(I, U, cellActivation="tanh")
    else:
        layer = gru_config(I, U, linear_before_reset != 0)
    config = {"layer": {"type": kind, **layer}, "mergeMode": "concat"}
    return wrapper_case(name, ORT_ORACLE, "onnx", config, weights, [call], ONNX_BIDI_NOTE)


def onnx_bidi_cases():
    return [
        onnx_bidi_case("onnx-bidirectional-lstm", 2, 4, 3, 5),
        onnx_bidi_case("onnx-bidirectional-lstm-initial-state", 2, 4, 3, 5, initial_state=True),
        onnx_bidi_case("onnx-bidirectional-lstm-sequence-lengths", 3, 4, 3, 5,
                       lengths=[4, 1, 3]),
        onnx_bidi_case("onnx-bidirectional-lstm-sequence-lengths-initial-state", 3, 4, 3, 5,
                       lengths=[4, 1, 3], initial_state=True),
        onnx_bidi_case("onnx-bidirectional-gru-lbr1", 2, 4, 3, 5, kind="gru"),
        onnx_bidi_case("onnx-bidirectional-gru-lbr0-sequence-lengths", 3, 4, 3, 5, kind="gru",
                       lengths=[4, 1, 3], linear_before_reset=0),
    ]


# ---------------------------------------------------------------- Sequential (Keras)


def keras_sequential_case(name, B, T, I, specs, n_calls=1):
    """specs: dicts {type: lstm|gru|dense|bidirectional, ...}; built with keras.Sequential."""
    rng = rng_for(name)
    layers, entries, n_in = [], [], I
    for spec in specs:
        kind = spec["type"]
        if kind == "dense":
            units, act, use_bias = spec["units"], spec["activation"], spec.get("useBias", True)
            weights = {"kernel": uniform(rng, (n_in, units), 0.5)}
            if use_bias:
                weights["bias"] = uniform(rng, (units,), 0.5)
            layers.append(keras.layers.Dense(units, activation=act, use_bias=use_bias))
            config = {"units": units, "activation": act, "useBias": use_bias}
            n_out = units
        elif kind in ("lstm", "gru"):
            U, seq, ra = spec["units"], spec["returnSequences"], spec.get("resetAfter", True)
            weights = keras_rnn_weights(rng, kind, n_in, U, ra)
            layers.append(keras_rnn_layer(kind, U, ra, return_sequences=seq))
            config = rnn_config(kind, n_in, U, ra, returnSequences=seq)
            n_out = U
        else:  # bidirectional
            inner, U, seq = spec["layer"], spec["units"], spec["returnSequences"]
            merge, ra = spec["mergeMode"], spec.get("resetAfter", True)
            weights = {d: keras_rnn_weights(rng, inner, n_in, U, ra)
                       for d in ("forward", "backward")}
            layers.append(keras.layers.Bidirectional(
                keras_rnn_layer(inner, U, ra, return_sequences=seq), merge_mode=merge))
            config = {"layer": {"type": inner, **rnn_config(inner, n_in, U, ra,
                                                             returnSequences=seq)},
                      "mergeMode": merge}
            n_out = 2 * U if merge == "concat" else U
        entries.append({"type": kind, "config": config, "weights": f32_tree(weights)})
        n_in = n_out

    model = keras.Sequential([keras.Input(shape=(T, I), batch_size=B)] + layers)
    for layer, entry in zip(model.layers, entries):
        w = entry["weights"]
        if entry["type"] == "bidirectional":
            layer.forward_layer.set_weights([np.asarray(v, np.float32)
                                             for v in w["forward"].values()])
            layer.backward_layer.set_weights([np.asarray(v, np.float32)
                                              for v in w["backward"].values()])
        else:
            layer.set_weights([np.asarray(v, np.float32) for v in w.values()])

    calls = []
    for _ in range(n_calls):
        x = uniform(rng, (B, T, I), 1.0)
        y = np.asarray(model.predict(x, batch_size=B, verbose=0))
        calls.append({"input": f32(x), "expected": {"output": f32(y)}})
    return {"name": name, "oracle": KERAS_ORACLE, "layers": entries, "calls": calls,
            "tolerance": TOLERANCE}


def lstm_spec(units, seq):
    return {"type": "lstm", "units": units, "returnSequences": seq}


def dense_spec(units, activation, use_bias=True):
    return {"type": "dense", "units": units, "activation": activation, "useBias": use_bias}


def keras_sequential_cases():
    return [
        keras_sequential_case("keras-sequential-lstm8-lstm6-dense3", 2, 7, 4, [
            lstm_spec(8, True), lstm_spec(6, False), dense_spec(3, "linear")], n_calls=2),
        keras_sequential_case("keras-sequential-lstm5-lstm4-dense3-softmax", 2, 5, 3, [
            lstm_spec(5, True), lstm_spec(4, True), dense_spec(3, "softmax")]),
        keras_sequential_case("keras-sequential-gru6-dense2-tanh", 2, 5, 3, [
            {"type": "gru", "units": 6, "returnSequences": True}, dense_spec(2, "tanh")]),
        keras_sequential_case("keras-sequential-bilstm4-lstm3-dense2-sigmoid", 2, 6, 3, [
            {"type": "bidirectional", "layer": "lstm", "units": 4, "returnSequences": True,
             "mergeMode": "concat"},
            lstm_spec(3, False), dense_spec(2, "sigmoid")]),
        keras_sequential_case("keras-sequential-dense5-relu-gru4-dense2-nobias", 2, 5, 3, [
            dense_spec(5, "relu"),
            {"type": "gru", "units": 4, "returnSequences": False, "resetAfter": False},
            dense_spec(2, "linear", use_bias=False)]),
    ]


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
    write("lstm-onnx-reverse.json", onnx_reverse_cases())
    write("gru-keras.json", keras_gru_cases())
    write("gru-pytorch.json", torch_gru_cases())
    write("gru-onnx.json", onnx_gru_cases())
    write("bidirectional-keras.json", keras_bidi_cases())
    write("bidirectional-pytorch.json", torch_bidi_cases())
    write("bidirectional-onnx.json", onnx_bidi_cases())
    write("sequential-keras.json", keras_sequential_cases())


if __name__ == "__main__":
    main()
