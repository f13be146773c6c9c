"""Generate the ONNX model fixtures in test/fixtures/models/onnx/ and their golden outputs.

Each model <name>.onnx comes with <name>.json: {model, made_by, oracle, layers, cases: [{input, output}]}
(time_major: true where the graph takes its input [time, batch, ...]),
input [batch, time, features] (embedding_lstm: int64 ids [batch, time]; the *_time_major models take the
graph's own [time, batch, features], ids [time, batch]) and output as the ONNX graph computes them with
onnxruntime (CPU).
  lstm_last_softmax    torch: LSTM(batch_first) -> out[:, -1] -> Linear -> softmax
  gru2_sequences       torch: 2-layer GRU (linear_before_reset 1) returning every step
  bilstm_dense         torch: bidirectional LSTM, both directions concatenated, Linear + tanh per step
  bigru_hn_static      torch, fixed shapes (batch 2, time 5): bidirectional GRU, cat(h_n[-2], h_n[-1]) -> Linear
  lstm2_hn_relu        torch: 2-layer LSTM, h_n[-1] -> Linear -> ReLU
  lstm_slice_squeeze   torch: LSTM -> out[:, -1:, :] -> Linear -> squeeze(1) (an If on the size) -> tanh - 0.5
  bilstm2_hn_softmax   torch, opset 11: 2-layer bidirectional LSTM, h_n[-2:] -> transpose/reshape -> Linear -> softmax
  embedding_lstm       torch: Embedding (a Gather of int64 ids [batch, time]) -> LSTM(batch_first) -> out[:, -1] -> Linear
  lstm2_time_major     torch: 2-layer LSTM (batch_first=False) -> out [time, batch, 5] -> Linear per step
  bigru_time_major     torch: bidirectional GRU (batch_first=False) -> cat(h_n[-2], h_n[-1]) -> Linear -> softmax
  embedding_time_major torch: Embedding (int64 ids [time, batch]) -> LSTM (batch_first=False) -> out[-1] -> Linear
  lstm_peepholes       onnx.helper: LSTM with peepholes, clip, input_forget, HardSigmoid/Softsign/Elu
  gru_reverse          onnx.helper: GRU direction reverse (linear_before_reset 0), Y[0] -> MatMul + Add -> Sigmoid
  lstm_layout1         onnx.helper: LSTM with layout 1 (batch-major X and Y)
  lstm_reverse_y       onnx.helper: LSTM direction reverse, its whole Y (input order) -> MatMul + Add -> Tanh per step
  bigru_y_gru          onnx.helper: bidirectional GRU, Y -> Transpose + Reshape -> GRU, its whole Y
  stacked_reverse_y    onnx.helper: reverse LSTM -> reverse GRU -> bidirectional LSTM, each fed the Y before, -> MatMul + Add per step
And silero_lstm.json (no model file: its weights are too big to commit): the LSTM of the Silero VAD
model in ../shared/fixtures/models, its W/R/B folded here with onnxruntime from the model's own
constant subgraph, their SHA-256, and onnxruntime's outputs for a one-node model holding them, fed
nonzero initial states.

Every expected value comes from onnxruntime; this script only draws seeded random weights and inputs.
onnxruntime does not run LSTM layout 1, so lstm_layout1's outputs are onnxruntime's for the same LSTM
with layout 0 and the transposes layout 1 stands for (checked against onnx's reference evaluator).

Run from the repository root: python3 scripts/gen_onnx_models.py [name ...] (all models, or those named)
(Python 3.11, torch 2.13 CPU, onnx 1.23, onnxruntime 1.30, numpy; see requirements-fixtures.txt)
"""

import hashlib
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_utils import f32  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "test" / "fixtures" / "models" / "onnx"
SILERO = ROOT.parent / "shared" / "fixtures" / "models" / "onnx_silero_vad_16k_op15" / "silero_vad_16k_op15.onnx"
TOLERANCE = {"abs": 1e-5, "rel": 1e-5}
ORACLE = f"onnxruntime {ort.__version__} (CPU)"
MADE_BY = f"torch {torch.__version__.split('+')[0]}, onnx {onnx.__version__}"


def run_ort(model_bytes, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def write(name, model_bytes, cases, layers, description, note=None, time_major=False):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{name}.onnx").write_bytes(model_bytes)
    doc = {
        "model": f"{name}.onnx",
        "description": description,
        "made_by": MADE_BY,
        "oracle": ORACLE,
        "tolerance": TOLERANCE,
        "layers": layers,
        "cases": [{"input": x.tolist() if x.dtype.kind == "i" else f32(x), "output": f32(y)} for x, y in cases],
    }
    if note:
        doc["note"] = note
    if time_major:
        doc["time_major"] = True
    (OUT_DIR / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def golden(model_bytes, shapes, seed, vocab=None):
    """onnxruntime's first output for random [batch, time, features] inputs of the given shapes
    (with a vocab: int64 ids [batch, time] in [0, vocab))."""
    rng = np.random.default_rng(seed)
    name = onnx.load_from_string(model_bytes).graph.input[0].name
    cases = []
    for shape in shapes:
        x = rng.integers(0, vocab, shape) if vocab else rng.standard_normal(shape).astype(np.float32)
        cases.append((x, run_ort(model_bytes, {name: x})[0]))
    return cases


def torch_export(module, example, dynamic, opset, time_major=False):
    module.eval()
    buffer = io.BytesIO()
    axes = ({"x": {0: "time", 1: "batch"}} if time_major else {"x": {0: "batch", 1: "time"}}) if dynamic else None
    torch.onnx.export(module, (example,), buffer, input_names=["x"], output_names=["y"], opset_version=opset,
                      dynamic_axes=axes, dynamo=False)
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    return data


def torch_check(module, model_bytes, cases):
    """The export computes what the module computes (the oracle stays onnxruntime)."""
    with torch.no_grad():
        for x, y in cases:
            np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), y, atol=1e-5, rtol=1e-5)


SHAPES = [(2, 6, 3), (1, 1, 3), (3, 4, 3)]

# ---------------------------------------------------------------- torch exports


class LastStepSoftmax(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 5, batch_first=True)
        self.fc = torch.nn.Linear(5, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.softmax(self.fc(y[:, -1, :]), dim=-1)


class StackedGru(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


class BiLstmDense(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        return torch.tanh(self.fc(self.rnn(x)[0]))


class BiGruFinalStates(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 4, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(8, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


class StackedLstmLastLayerState(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return torch.relu(self.fc(h[-1]))


class LastSliceSqueezed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, batch_first=True)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.tanh(self.fc(y[:, -1:, :]).squeeze(1)) - 0.5


class StackedBiLstmLastLayerStates(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        last = h[-2:].transpose(0, 1).reshape(x.shape[0], -1)
        return torch.softmax(self.fc(last), dim=1)


class EmbeddingLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(30, 8)
        self.rnn = torch.nn.LSTM(8, 6, batch_first=True)
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.rnn(self.emb(x))
        return self.fc(y[:, -1])


class TimeMajorLstmSequence(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 5, num_layers=2)
        self.fc = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


class TimeMajorBiGruFinalStates(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 4, bidirectional=True)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        _, h = self.rnn(x)
        return torch.softmax(self.fc(torch.cat([h[-2], h[-1]], dim=1)), dim=-1)


class TimeMajorEmbeddingLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(30, 8)
        self.rnn = torch.nn.LSTM(8, 6)
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.rnn(self.emb(x))
        return self.fc(y[-1])


def torch_models():
    specs = [
        ("lstm_last_softmax", LastStepSoftmax, True, SHAPES, ["lstm", "dense"],
         "torch LSTM(3, 5, batch_first) -> out[:, -1, :] -> Linear(5, 4) -> softmax (legacy exporter, dynamic batch and time)"),
        ("gru2_sequences", StackedGru, True, SHAPES, ["gru", "gru"],
         "torch GRU(3, 4, num_layers=2, batch_first) returning every step (linear_before_reset 1)"),
        ("bilstm_dense", BiLstmDense, True, SHAPES, ["bidirectional", "dense"],
         "torch LSTM(3, 4, bidirectional, batch_first) -> Linear(8, 3) -> tanh per step (Transpose + Reshape join the directions)"),
        ("bigru_hn_static", BiGruFinalStates, False, [(2, 5, 3)], ["bidirectional", "dense"],
         "torch GRU(3, 4, bidirectional, batch_first) -> cat(h_n[-2], h_n[-1]) -> Linear(8, 2), exported with fixed shapes [2, 5, 3]"),
        ("lstm2_hn_relu", StackedLstmLastLayerState, True, SHAPES, ["lstm", "lstm", "dense"],
         "torch LSTM(3, 4, num_layers=2, batch_first) -> h_n[-1] -> Linear(4, 3) -> ReLU"),
        ("lstm_slice_squeeze", LastSliceSqueezed, True, SHAPES, ["lstm", "dense", "dense"],
         "torch LSTM(3, 4, batch_first) -> out[:, -1:, :] -> Linear(4, 3) -> squeeze(1) -> tanh - 0.5 "
         "(the squeeze of a dynamic axis is an If on its size; the Sub after tanh is a Dense of its own)"),
        ("bilstm2_hn_softmax", StackedBiLstmLastLayerStates, True, SHAPES, ["bidirectional", "bidirectional", "dense"],
         "torch LSTM(3, 4, num_layers=2, bidirectional, batch_first) -> h_n[-2:].transpose(0, 1).reshape(batch, 8) -> Linear(8, 3) -> softmax, opset 11"),
    ]
    opsets = {"bilstm2_hn_softmax": 11}
    for seed, (name, make, dynamic, shapes, layers, description) in enumerate(specs):
        torch.manual_seed(100 + seed)
        module = make()
        data = torch_export(module, torch.randn(*shapes[0]), dynamic, opsets.get(name, 17))
        cases = golden(data, shapes, 200 + seed)
        torch_check(module, data, cases)
        write(name, data, cases, layers, description)


TIME_MAJOR_SHAPES = [(6, 2, 3), (1, 1, 3), (4, 3, 3)]


def time_major_models():
    """batch_first=False modules: the graph takes [time, batch, ...], as do the goldens."""
    specs = [
        ("lstm2_time_major", TimeMajorLstmSequence, TIME_MAJOR_SHAPES, None, ["lstm", "lstm", "dense"],
         "torch LSTM(3, 5, num_layers=2) (batch_first=False) -> out [time, batch, 5] -> Linear(5, 3) per step: "
         "input and output [time, batch, features]"),
        ("bigru_time_major", TimeMajorBiGruFinalStates, TIME_MAJOR_SHAPES, None, ["bidirectional", "dense"],
         "torch GRU(3, 4, bidirectional) (batch_first=False) -> cat(h_n[-2], h_n[-1]) -> Linear(8, 3) -> softmax: "
         "input [time, batch, 3], output [batch, 3]"),
        ("embedding_time_major", TimeMajorEmbeddingLstm, [(6, 2), (1, 1), (4, 3)], 30, ["embedding", "lstm", "dense"],
         "torch Embedding(30, 8) -> LSTM(8, 6) (batch_first=False) -> out[-1] -> Linear(6, 3): "
         "input int64 ids [time, batch], output [batch, 3]"),
    ]
    for seed, (name, make, shapes, vocab, layers, description) in enumerate(specs):
        torch.manual_seed(130 + seed)
        module = make()
        example = torch.randint(0, vocab, shapes[0]) if vocab else torch.randn(*shapes[0])
        data = torch_export(module, example, True, 17, time_major=True)
        cases = golden(data, shapes, 230 + seed, vocab=vocab)
        torch_check(module, data, cases)
        write(name, data, cases, layers, description, time_major=True)


def embedding_lstm():
    torch.manual_seed(120)
    module = EmbeddingLstm()
    shapes = [(2, 6), (1, 1), (3, 4)]
    data = torch_export(module, torch.randint(0, 30, shapes[0]), True, 17)
    cases = golden(data, shapes, 220, vocab=30)
    edges = np.array([[0, 29, 0, 13]])  # the table's first and last rows
    cases.append((edges, run_ort(data, {"x": edges})[0]))
    assert onnx.load_from_string(data).graph.input[0].type.tensor_type.elem_type == TensorProto.INT64
    torch_check(module, data, cases)
    write("embedding_lstm", data, cases, ["embedding", "lstm", "dense"],
          "torch Embedding(30, 8) -> LSTM(8, 6, batch_first) -> out[:, -1] -> Linear(6, 3): the input is int64 ids [batch, time], "
          "the embedding a Gather from the constant table (legacy exporter, dynamic batch and time)")


# ---------------------------------------------------------------- onnx.helper graphs


def helper_model(nodes, inputs, outputs, initializers, opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_onnx_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def weights(rng, *shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def const_i64(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def lstm_peepholes():
    rng = np.random.default_rng(7)
    I, U = 3, 5
    inits = [
        numpy_helper.from_array(weights(rng, 1, 4 * U, I), "W"),
        numpy_helper.from_array(weights(rng, 1, 4 * U, U), "R"),
        numpy_helper.from_array(weights(rng, 1, 8 * U, scale=0.2), "B"),
        numpy_helper.from_array(weights(rng, 1, 3 * U, scale=0.3), "P"),
        const_i64("axis0", [0]),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x_tbf", "W", "R", "B", "", "", "", "P"], ["", "h_last"], name="peephole_lstm", hidden_size=U,
                         clip=1.5, input_forget=1, activations=["HardSigmoid", "Softsign", "Elu"],
                         activation_alpha=[0.25, 0.9], activation_beta=[0.45]),
        helper.make_node("Squeeze", ["h_last", "axis0"], ["y"]),
    ]
    model = helper_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", I])],
                         [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", U])], inits)
    data = model.SerializeToString()
    write("lstm_peepholes", data, golden(data, SHAPES, 300), ["lstm"],
          "onnx.helper LSTM with peepholes P, clip 1.5, input_forget 1, activations HardSigmoid(0.25, 0.45), Softsign, Elu(0.9); Y_h squeezed",
          note="activation_alpha/beta are taken in order by the activations that use them (HardSigmoid alpha and beta, then Elu alpha), as onnxruntime does")


def gru_reverse():
    rng = np.random.default_rng(8)
    I, U, O = 3, 4, 2
    inits = [
        numpy_helper.from_array(weights(rng, 1, 3 * U, I), "W"),
        numpy_helper.from_array(weights(rng, 1, 3 * U, U), "R"),
        numpy_helper.from_array(weights(rng, 1, 6 * U, scale=0.2), "B"),
        numpy_helper.from_array(weights(rng, U, O), "kernel"),
        numpy_helper.from_array(weights(rng, O, scale=0.2), "bias"),
        const_i64("first", 0),
        const_i64("axis0", [0]),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),
        helper.make_node("GRU", ["x_tbf", "W", "R", "B"], ["y_all"], name="reverse_gru", hidden_size=U, direction="reverse", linear_before_reset=0),
        helper.make_node("Gather", ["y_all", "first"], ["y0"], axis=0),  # Y[0]: where the reverse pass ends
        helper.make_node("Squeeze", ["y0", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "kernel"], ["logits0"]),
        helper.make_node("Add", ["logits0", "bias"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["y"]),
    ]
    model = helper_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", I])],
                         [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", O])], inits)
    data = model.SerializeToString()
    write("gru_reverse", data, golden(data, SHAPES, 301), ["gru", "dense"],
          "onnx.helper GRU direction reverse, linear_before_reset 0; Y[0] (the reverse pass's last step) -> MatMul + Add -> Sigmoid")


def lstm_layout1():
    rng = np.random.default_rng(9)
    I, U = 3, 4
    W, R, B = weights(rng, 1, 4 * U, I), weights(rng, 1, 4 * U, U), weights(rng, 1, 8 * U, scale=0.2)
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"), numpy_helper.from_array(B, "B"), const_i64("axis2", [2])]
    nodes = [
        helper.make_node("LSTM", ["x", "W", "R", "B"], ["y_all"], name="batch_major_lstm", hidden_size=U, layout=1),
        helper.make_node("Squeeze", ["y_all", "axis2"], ["y"]),
    ]
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", I])
    y_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "time", U])
    model = helper_model(nodes, [x_info], [y_info], inits)
    # onnxruntime runs only layout 0: the same LSTM between the transposes layout 1 stands for.
    layout0 = helper_model([
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x_tbf", "W", "R", "B"], ["y_all"], hidden_size=U),
        helper.make_node("Squeeze", ["y_all", "axis1"], ["y_tbu"]),
        helper.make_node("Transpose", ["y_tbu"], ["y"], perm=[1, 0, 2]),
    ], [x_info], [y_info], inits[:3] + [const_i64("axis1", [1])])
    cases = golden(layout0.SerializeToString(), SHAPES, 302)
    reference = ReferenceEvaluator(model)
    for x, y in cases:
        np.testing.assert_allclose(reference.run(None, {"x": x})[0], y, atol=1e-5, rtol=1e-5)
    write("lstm_layout1", model.SerializeToString(), cases, ["lstm"],
          "onnx.helper LSTM with layout 1 (X [batch, time, features], Y [batch, time, 1, hidden]), Y squeezed",
          note="onnxruntime does not run layout 1: the outputs are onnxruntime's for the same LSTM with layout 0 between transposes, checked against onnx.reference")


# ---------------------------------------------------------------- Y of reverse and bidirectional nodes
# ONNX keeps Y in input order whatever the direction: Y[t] is the output of the step that read x[t].


def recurrent_inits(rng, op, name, D, I, U):
    G = 4 if op == "LSTM" else 3
    return [
        numpy_helper.from_array(weights(rng, D, G * U, I), f"{name}_W"),
        numpy_helper.from_array(weights(rng, D, G * U, U), f"{name}_R"),
        numpy_helper.from_array(weights(rng, D, 2 * G * U, scale=0.2), f"{name}_B"),
    ]


def y_model(name, nodes, inits, I, out_features, layers, description, seed):
    """A batch-major model: x [batch, time, I] -> Transpose -> nodes (from x_tbf to y_tbf) -> Transpose -> y."""
    nodes = [helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]), *nodes,
             helper.make_node("Transpose", ["y_tbf"], ["y"], perm=[1, 0, 2])]
    model = helper_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", I])],
                         [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "time", out_features])], inits)
    data = model.SerializeToString()
    cases = golden(data, SHAPES + [(4, 9, I)], seed)
    # onnx's reference evaluator agrees (it implements the spec, apart from onnxruntime's kernels).
    reference = ReferenceEvaluator(model)
    for x, y in cases:
        np.testing.assert_allclose(reference.run(None, {"x": x})[0], y, atol=1e-5, rtol=1e-5)
    write(name, data, cases, layers, description)
    write_lengths_twin(name, model, seed)


def write_lengths_twin(name, model, seed):
    """<name>.lengths.json: onnxruntime's outputs of the same model with a graph input `lens` given to
    every recurrent node as sequence_lens (which loadModel refuses: the test feeds the lengths to
    forward() as sequenceLengths instead)."""
    twin = onnx.ModelProto()
    twin.CopyFrom(model)
    for node in twin.graph.node:
        if node.op_type in ("LSTM", "GRU"):
            node.input[4:] = []
            node.input.extend(["lens"] if len(node.input) == 4 else [])
    twin.graph.input.append(helper.make_tensor_value_info("lens", TensorProto.INT32, ["batch"]))
    onnx.checker.check_model(twin)
    data = twin.SerializeToString()
    rng = np.random.default_rng(seed + 100)
    cases = []
    for B, T, I in [(4, 6, 3), (3, 9, 3), (1, 1, 3)]:
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        # Every kind of length: all steps, one, none (where the batch allows), and one in between.
        lens = np.array([T, 1, 0, max(1, T - 2)][:B] if B > 1 else [T], dtype=np.int32)
        y = run_ort(data, {"x": x, "lens": lens})[0]
        cases.append({"input": f32(x), "sequence_lens": lens.tolist(), "output": f32(y)})
    doc = {"model": f"{name}.onnx", "description": f"{name} with sequence_lens on every recurrent node (outputs past a length are 0 in Y)",
           "made_by": MADE_BY, "oracle": ORACLE, "tolerance": TOLERANCE, "cases": cases}
    (OUT_DIR / f"{name}.lengths.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def lstm_reverse_y():
    rng = np.random.default_rng(10)
    I, U, O = 3, 4, 2
    inits = recurrent_inits(rng, "LSTM", "lstm", 1, I, U) + [
        numpy_helper.from_array(weights(rng, U, O), "kernel"),
        numpy_helper.from_array(weights(rng, O, scale=0.2), "bias"),
        const_i64("axis1", [1]),
    ]
    nodes = [
        helper.make_node("LSTM", ["x_tbf", "lstm_W", "lstm_R", "lstm_B"], ["y_all"], name="reverse_lstm", hidden_size=U, direction="reverse"),
        helper.make_node("Squeeze", ["y_all", "axis1"], ["h_tbu"]),
        helper.make_node("MatMul", ["h_tbu", "kernel"], ["logits0"]),
        helper.make_node("Add", ["logits0", "bias"], ["logits"]),
        helper.make_node("Tanh", ["logits"], ["y_tbf"]),
    ]
    y_model("lstm_reverse_y", nodes, inits, I, O, ["lstm", "dense"],
            "onnx.helper LSTM direction reverse; its Y (in input order) squeezed -> MatMul + Add -> Tanh per step", 303)


def bigru_y_gru():
    rng = np.random.default_rng(11)
    I, U, U2 = 3, 4, 3
    inits = recurrent_inits(rng, "GRU", "bigru", 2, I, U) + recurrent_inits(rng, "GRU", "gru", 1, 2 * U, U2) + [
        const_i64("joined", [0, 0, -1]),
        const_i64("axis1", [1]),
    ]
    nodes = [
        helper.make_node("GRU", ["x_tbf", "bigru_W", "bigru_R", "bigru_B"], ["bi_y"], name="bidirectional_gru", hidden_size=U,
                         direction="bidirectional", linear_before_reset=1),
        helper.make_node("Transpose", ["bi_y"], ["bi_tbdu"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["bi_tbdu", "joined"], ["bi_tbf"]),
        helper.make_node("GRU", ["bi_tbf", "gru_W", "gru_R", "gru_B"], ["gru_y"], name="gru_after", hidden_size=U2),
        helper.make_node("Squeeze", ["gru_y", "axis1"], ["y_tbf"]),
    ]
    y_model("bigru_y_gru", nodes, inits, I, U2, ["bidirectional", "gru"],
            "onnx.helper GRU bidirectional (linear_before_reset 1), Y -> Transpose + Reshape (directions joined) -> GRU (linear_before_reset 0), its Y squeezed", 304)


def stacked_reverse_y():
    rng = np.random.default_rng(12)
    I, U1, U2, U3, O = 3, 4, 5, 3, 2
    inits = (recurrent_inits(rng, "LSTM", "lstm1", 1, I, U1) + recurrent_inits(rng, "GRU", "gru2", 1, U1, U2)
             + recurrent_inits(rng, "LSTM", "bilstm3", 2, U2, U3) + [
                 numpy_helper.from_array(weights(rng, 2 * U3, O), "kernel"),
                 numpy_helper.from_array(weights(rng, O, scale=0.2), "bias"),
                 const_i64("joined", [0, 0, -1]),
                 const_i64("axis1", [1]),
             ])
    nodes = [
        helper.make_node("LSTM", ["x_tbf", "lstm1_W", "lstm1_R", "lstm1_B"], ["y1"], name="reverse_lstm", hidden_size=U1, direction="reverse"),
        helper.make_node("Squeeze", ["y1", "axis1"], ["h1"]),
        helper.make_node("GRU", ["h1", "gru2_W", "gru2_R", "gru2_B"], ["y2"], name="reverse_gru", hidden_size=U2, direction="reverse",
                         linear_before_reset=1),
        helper.make_node("Squeeze", ["y2", "axis1"], ["h2"]),
        helper.make_node("LSTM", ["h2", "bilstm3_W", "bilstm3_R", "bilstm3_B"], ["y3"], name="bidirectional_lstm", hidden_size=U3,
                         direction="bidirectional"),
        helper.make_node("Transpose", ["y3"], ["y3_tbdu"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["y3_tbdu", "joined"], ["h3"]),
        helper.make_node("MatMul", ["h3", "kernel"], ["logits0"]),
        helper.make_node("Add", ["logits0", "bias"], ["y_tbf"]),
    ]
    y_model("stacked_reverse_y", nodes, inits, I, O, ["lstm", "gru", "bidirectional", "dense"],
            "onnx.helper LSTM reverse -> GRU reverse (linear_before_reset 1) -> LSTM bidirectional, each fed the Y before it, "
            "directions joined (Transpose + Reshape) -> MatMul + Add per step", 305)


# ---------------------------------------------------------------- Silero VAD's LSTM


def fold_silero_lstm():
    """W, R, B of the LSTM in each If_1 branch, computed by onnxruntime from the model's constant subgraph."""
    model = onnx.load(str(SILERO))
    main = model.graph
    if_node = next(n for n in main.node if n.name == "/model/decoder/If_1")
    found = {}
    for attr in if_node.attribute:
        branch = attr.g
        lstm = next(n for n in branch.node if n.op_type == "LSTM")
        producers = {o: n for g in (main, branch) for n in g.node for o in n.output}
        initializers = {t.name: t for t in main.initializer}
        nodes, inits, pending, seen = [], [], list(lstm.input[1:4]), set()
        while pending:
            name = pending.pop()
            if name in seen or name == "":
                continue
            seen.add(name)
            if name in initializers:
                inits.append(initializers[name])
            else:
                node = producers[name]
                nodes.append(node)
                pending.extend(node.input)
        order = {id(n): k for k, n in enumerate(list(main.node) + list(branch.node))}
        nodes.sort(key=lambda n: order[id(n)])
        outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in lstm.input[1:4]]
        sub = helper.make_model(helper.make_graph(nodes, "weights", [], outputs, inits), opset_imports=model.opset_import)
        sub.ir_version = model.ir_version
        W, R, B = run_ort(sub.SerializeToString(), {})
        hidden = next(a.i for a in lstm.attribute if a.name == "hidden_size")
        found[attr.name] = {"node": lstm.name, "graph": f"{if_node.name}.{attr.name}", "hidden_size": hidden, "W": W, "R": R, "B": B}
    return found


def silero_lstm():
    branches = fold_silero_lstm()
    then, other = branches["then_branch"], branches["else_branch"]
    for key in "WRB":
        assert np.array_equal(then[key], other[key]), f"the two branches' {key} differ"
    U = then["hidden_size"]
    assert then["W"].shape == (1, 4 * U, U) and then["R"].shape == (1, 4 * U, U) and then["B"].shape == (1, 8 * U)
    inits = [numpy_helper.from_array(then[k], k) for k in "WRB"]
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "h0", "c0"], ["Y", "Y_h", "Y_c"], hidden_size=U)
    info = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    single = helper_model([node], [info("X", ["T", "B", U]), info("h0", [1, "B", U]), info("c0", [1, "B", U])],
                          [info("Y", ["T", 1, "B", U]), info("Y_h", [1, "B", U]), info("Y_c", [1, "B", U])], inits, opset=15)
    rng = np.random.default_rng(400)
    cases = []
    for T, batch in [(1, 1), (3, 1), (2, 2)]:
        x = rng.standard_normal((T, batch, U)).astype(np.float32)
        h0 = (rng.standard_normal((1, batch, U)) * 0.5).astype(np.float32)
        c0 = (rng.standard_normal((1, batch, U)) * 0.5).astype(np.float32)
        Y, Y_h, Y_c = run_ort(single.SerializeToString(), {"X": x, "h0": h0, "c0": c0})
        # Stored batch-major, as lstm-runtime takes and returns them: input [B,T,U], Y [B,T,U], states [B,U].
        cases.append({
            "input": f32(x.transpose(1, 0, 2)),
            "initialState": {"h": f32(h0[0]), "c": f32(c0[0])},
            "expected": {"output": f32(Y[:, 0].transpose(1, 0, 2)), "h": f32(Y_h[0]), "c": f32(Y_c[0])},
        })

    def digest(a):
        flat = a.astype("<f4").ravel()
        picks = np.random.default_rng(401).choice(flat.size, 8, replace=False)
        return {"shape": list(a.shape), "sha256": hashlib.sha256(flat.tobytes()).hexdigest(),
                "samples": [[int(k), float(str(flat[k]))] for k in sorted(picks)]}

    doc = {
        "model": "../shared/fixtures/models/onnx_silero_vad_16k_op15/silero_vad_16k_op15.onnx",
        "description": "Silero VAD v5's LSTM: W, R, B folded by onnxruntime from the model's constant subgraph "
                       "(Slice/Concat/Unsqueeze of initializers inside the If_1 branches); outputs of a one-node LSTM "
                       "holding them, from nonzero initial states",
        "oracle": ORACLE,
        "tolerance": TOLERANCE,
        "nodes": [{"name": b["node"], "graph": b["graph"], "hidden_size": b["hidden_size"]} for b in (then, other)],
        "weights": {k: digest(then[k]) for k in "WRB"},
        "cases": cases,
    }
    (OUT_DIR / "silero_lstm.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


GENERATORS = {
    "torch": torch_models, "embedding_lstm": embedding_lstm, "time_major": time_major_models, "lstm_peepholes": lstm_peepholes,
    "gru_reverse": gru_reverse, "lstm_layout1": lstm_layout1, "lstm_reverse_y": lstm_reverse_y, "bigru_y_gru": bigru_y_gru,
    "stacked_reverse_y": stacked_reverse_y, "silero_lstm": silero_lstm,
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(GENERATORS)}")
    for name in names:
        GENERATORS[name]()
    total = sum(p.stat().st_size for p in OUT_DIR.iterdir())
    print(f"wrote {len(list(OUT_DIR.iterdir()))} files, {total} bytes, to {OUT_DIR.relative_to(ROOT)}")
