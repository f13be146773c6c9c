"""Generate test/fixtures/models/onnx/ fixtures from today's PyTorch ONNX exporters, and their golden outputs.

  dynamo_*   torch.onnx.export(..., dynamo=True) as a user calls it today: the default exporter of torch 2.x
             (opset 20), dynamic batch and time through dynamic_shapes, written to a path with its default
             external_data=True, so every initializer over 256 bytes sits in <name>.onnx.data beside the
             model (data_location EXTERNAL, location/offset/length); its shape-only subgraphs
             (Shape -> Slice -> Mul -> Concat -> Reshape, Shape -> Concat -> Expand for the zero states)
             compute reshape targets and initial states from the input's dimensions at run time.
  legacy_*   torch.onnx.export(..., dynamo=False) at opsets 18, 19 and 20 (the older exporter; opset 17 and 11
             are in gen_onnx_models.py), dynamic batch and time through dynamic_axes, weights inside.

Each model <name>.onnx comes with <name>.json in the layout gen_onnx_models.py writes ({model, made_by, oracle,
layers, cases: [{input, output}]}; "external_data": the file beside it), input [batch, time, features] and
output as onnxruntime computes them from the files on disk. torch's own outputs are checked against
onnxruntime's (1e-5), the oracle stays onnxruntime.

Run from the repository root: python3 scripts/gen_onnx_exporters.py
(Python 3.11, torch 2.13 CPU, onnx 1.23, onnxruntime 1.30, onnxscript 0.7 (the dynamo exporter needs it), numpy)
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxscript
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_utils import f32  # noqa: E402
from gen_onnx_models import ORACLE, OUT_DIR, SHAPES, TOLERANCE, run_ort  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
MADE_BY = f"torch {torch.__version__.split('+')[0]}, onnxscript {onnxscript.__version__}, onnx {onnx.__version__}"


class LastStepSoftmax(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, batch_first=True)
        self.fc = torch.nn.Linear(6, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.softmax(self.fc(y[:, -1, :]), dim=-1)


class StackedGruSequence(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 6, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


class BiLstmDense(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x):
        return torch.tanh(self.fc(self.rnn(x)[0]))


class BiGruFinalStates(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 6, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(12, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


class StackedLstmLastLayerState(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return torch.relu(self.fc(h[-1]))


class StackedBiLstmSequence(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


class StackedBiLstmLastLayerStates(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        last = h[-2:].transpose(0, 1).reshape(x.shape[0], -1)
        return torch.softmax(self.fc(last), dim=1)


# name, module, layers, description
MODELS = [
    ("lstm_last_softmax", LastStepSoftmax, ["lstm", "dense"], "LSTM(3, 6, batch_first) -> out[:, -1, :] -> Linear(6, 4) -> softmax"),
    ("gru2_dense", StackedGruSequence, ["gru", "gru", "dense"], "GRU(3, 6, num_layers=2, batch_first) -> Linear(6, 3) per step"),
    ("bilstm_dense", BiLstmDense, ["bidirectional", "dense"], "LSTM(3, 6, bidirectional, batch_first) -> Linear(12, 3) -> tanh per step"),
    ("bigru_hn", BiGruFinalStates, ["bidirectional", "dense"], "GRU(3, 6, bidirectional, batch_first) -> cat(h_n[-2], h_n[-1]) -> Linear(12, 2)"),
    ("lstm2_hn_relu", StackedLstmLastLayerState, ["lstm", "lstm", "dense"], "LSTM(3, 6, num_layers=2, batch_first) -> h_n[-1] -> Linear(6, 3) -> ReLU"),
    ("bilstm2_dense", StackedBiLstmSequence, ["bidirectional", "bidirectional", "dense"],
     "LSTM(3, 6, num_layers=2, bidirectional, batch_first) -> Linear(12, 3) per step"),
    ("bilstm2_hn_softmax", StackedBiLstmLastLayerStates, ["bidirectional", "bidirectional", "dense"],
     "LSTM(3, 6, num_layers=2, bidirectional, batch_first) -> h_n[-2:].transpose(0, 1).reshape(batch, 12) -> Linear(12, 3) -> softmax"),
]
# torch.export (torch 2.13) specializes the time axis of a stacked bidirectional LSTM (num_layers > 1) to the
# example's, a constraint violation the dynamo exporter answers with a fixed time: those are exported the older way only.
DYNAMO = ["lstm_last_softmax", "gru2_dense", "bilstm_dense", "bigru_hn", "lstm2_hn_relu"]
# The older exporter at the opsets gen_onnx_models.py does not cover.
LEGACY = [("lstm_last_softmax", 18), ("bigru_hn", 19), ("bilstm2_dense", 20), ("bilstm2_hn_softmax", 20), ("gru2_dense", 20)]


def cases_for(module, path, seed):
    """onnxruntime's outputs for the model on disk (its external data read beside it), checked against torch's."""
    rng = np.random.default_rng(seed)
    cases = []
    for shape in SHAPES:
        x = rng.standard_normal(shape).astype(np.float32)
        y = run_ort(str(path), {"x": x})[0]
        with torch.no_grad():
            np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), y, atol=1e-5, rtol=1e-5)
        cases.append({"input": f32(x), "output": f32(y)})
    return cases


def write_doc(name, layers, description, cases, external_data=None):
    doc = {
        "model": f"{name}.onnx",
        "description": description,
        "made_by": MADE_BY,
        "oracle": ORACLE,
        "tolerance": TOLERANCE,
        "layers": layers,
        "cases": cases,
    }
    if external_data:
        doc["external_data"] = external_data
    (OUT_DIR / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def dynamo_models():
    for seed, (stem, make, layers, description) in enumerate(m for m in MODELS if m[0] in DYNAMO):
        name = f"dynamo_{stem}"
        torch.manual_seed(500 + seed)
        module = make().eval()
        path = OUT_DIR / f"{name}.onnx"
        batch, time = torch.export.Dim("batch"), torch.export.Dim("time")
        # As a user writes it: the default exporter, to a path, external data on (its default).
        torch.onnx.export(module, (torch.randn(*SHAPES[0]),), str(path), dynamo=True,
                          dynamic_shapes=({0: batch, 1: time},), input_names=["x"], output_names=["y"])
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(str(path))
        dims = model.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_param for d in dims[:2]] == ["batch", "time"], f"{name}: the exporter fixed batch or time"
        external = [t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        assert external, f"{name}: expected some initializers in the external file"
        data = f"{name}.onnx.data"
        assert all(e.value == data for t in model.graph.initializer for e in t.external_data if e.key == "location")
        write_doc(name, layers, f"torch {description} (dynamo exporter, opset {model.opset_import[0].version}, dynamic batch and time, "
                  f"{len(external)} initializers in {data})", cases_for(module, path, 600 + seed), external_data=data)


def legacy_models():
    makers = {stem: (make, layers, description) for stem, make, layers, description in MODELS}
    for seed, (stem, opset) in enumerate(LEGACY):
        make, layers, description = makers[stem]
        name = f"legacy_{stem}_op{opset}"
        torch.manual_seed(700 + seed)
        module = make().eval()
        path = OUT_DIR / f"{name}.onnx"
        torch.onnx.export(module, (torch.randn(*SHAPES[0]),), str(path), dynamo=False, opset_version=opset,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch", 1: "time"}})
        onnx.checker.check_model(str(path))
        write_doc(name, layers, f"torch {description} (legacy exporter dynamo=False, opset {opset}, dynamic batch and time)",
                  cases_for(module, path, 800 + seed))


if __name__ == "__main__":
    dynamo_models()
    legacy_models()
    made = sorted(p.name for p in OUT_DIR.iterdir() if p.name.startswith(("dynamo_", "legacy_")))
    print(f"wrote {len(made)} files, {sum((OUT_DIR / p).stat().st_size for p in made)} bytes: {', '.join(made)}")
