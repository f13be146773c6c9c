"""Generate the PyTorch state-dict fixtures in test/fixtures/models/torch/ for loadModel.

Each model is a small torch.nn.Module built with a fixed seed; its state dict is written as
.safetensors (by hand: an 8-byte little-endian header length, a JSON header, the raw
little-endian data; the `safetensors` package is not needed) and torch's own outputs for a few
inputs go into golden.json:

  lstm_classifier.safetensors   nn.LSTM(num_layers=2) -> out[:, -1] -> nn.Linear -> softmax
                                (config given to loadModel: it is in golden.json, not the file)
  bigru_tagger.safetensors      nn.GRU(num_layers=2, bidirectional) -> nn.Linear per step; the
                                config is in the file's __metadata__ under "lstm_runtime"
  lstm_nobias.safetensors       nn.Linear + ReLU per step -> bidirectional nn.LSTM(bias=False)
                                -> cat(h_n[-2], h_n[-1]) -> nn.Linear(bias=False) -> sigmoid
  gru_f16/_bf16/_f64.safetensors  one nn.GRU -> out[:, -1] -> nn.Linear -> tanh, stored as
                                F16, BF16 and F64 (F64 perturbed below float32 precision); the
                                oracle runs torch in float32 on the stored values converted to
                                float32, which is what the reader does
  linear_special_f16/_bf16.safetensors  an nn.Linear(9, 1) holding special 16-bit values
                                (subnormals, largest finite, -0, ...) run on the identity
  lstm_proj.safetensors         nn.LSTM(proj_size=2): unsupported, for the error test
  embedding_gru.safetensors     nn.Embedding -> nn.GRU -> out[:, -1] -> nn.Linear -> softmax, on int64
                                ids [B, T]; the config (in the file) marks 'emb' embedding: true

golden.json: {generator, versions, note, cases: [{name, file, dtype, config?, calls:
[{input, sequenceLengths?, expected, expected64}], tolerance}]}; `config` (given to loadModel)
only where the file does not carry its own. Inputs are [B, T, I] (batch_first; embedding_gru's
are ids [B, T]); `expected` is torch's float32 output, `expected64` the same model in float64 on
the stored values (for reporting only). With sequenceLengths the oracle packs the batch (pack_padded_sequence,
enforce_sorted=False); padded steps of a returned sequence are 0 before the Linear.

Run from the repository root: python3 scripts/gen_torch_models.py   (torch 2.13 CPU, numpy)
The output is deterministic (fixed seeds, one thread).
"""

import json
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture_utils import f32

torch.set_num_threads(1)

OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "models" / "torch"
TOLERANCE = {"abs": 1e-5, "rel": 1e-5}
CONFIG_KEY = "lstm_runtime"
DTYPES = {  # safetensors dtype name -> torch dtype
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
}


def tensor_bytes(t):
    """The raw little-endian bytes of a tensor (bfloat16 has no numpy dtype: its 16-bit pattern)."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, state_dict, dtype, metadata=None):
    """The safetensors format: u64 LE header length, JSON header (padded with spaces to 8), data."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in state_dict.items():
        assert t.dtype == DTYPES[dtype]
        data = tensor_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def stored_state(module, dtype):
    """The state dict in `dtype`, as the file holds it. F64 gets a perturbation below float32's
    precision, so that the reader's rounding to float32 is exercised, not a no-op."""
    state = {}
    for k, v in module.state_dict().items():
        v = v.to(DTYPES[dtype])
        if dtype == "F64":
            v = v * (1 + 1e-9 * torch.linspace(-1, 1, v.numel(), dtype=torch.float64).reshape(v.shape))
        state[k] = v
    return state


def run_model(model_cls, state, x, lengths):
    """The model on the stored weights: in float32 (the weights rounded to float32, as the reader
    does) and in float64."""
    results = []
    for precision in (torch.float32, torch.float64):
        m = model_cls().to(precision).eval()
        m.load_state_dict({k: v.to(precision) for k, v in state.items()})
        with torch.no_grad():
            results.append(m(torch.as_tensor(x, dtype=precision if x.dtype.kind == "f" else None), lengths).numpy())
    return results


def run_rnn(rnn, x, lengths):
    """(out, h_n) of an nn.LSTM / nn.GRU, packing the batch when lengths are given."""
    if lengths is None:
        out, state = rnn(x)
    else:
        packed = pack_padded_sequence(x, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
        out, state = rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    h_n = state[0] if isinstance(state, tuple) else state
    return out, h_n


# ---------------------------------------------------------------- the models


class LstmClassifier(nn.Module):
    """Two stacked LSTM layers, the last step, a Linear and a softmax."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True)
        self.head = nn.Linear(5, 4)

    def forward(self, x, lengths=None):
        out, h_n = run_rnn(self.rnn, x, lengths)
        # out[:, -1] is the last step; with packed batches that is h_n of the last layer.
        last = out[:, -1] if lengths is None else h_n[-1]
        return torch.softmax(self.head(last), dim=-1)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 3, num_layers=2, bidirectional=True, batch_first=True)


class BigruTagger(nn.Module):
    """A two-layer bidirectional GRU (nested as encoder.gru), a Linear on every step."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.proj = nn.Linear(6, 2)

    def forward(self, x, lengths=None):
        out, _ = run_rnn(self.encoder.gru, x, lengths)
        return self.proj(out)


class LstmNoBias(nn.Module):
    """A per-step input projection, a bias-free bidirectional LSTM's final states, a sigmoid unit."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(3, 4)
        self.lstm = nn.LSTM(4, 5, bias=False, bidirectional=True, batch_first=True)
        self.out = nn.Linear(10, 1, bias=False)

    def forward(self, x, lengths=None):
        _, h_n = run_rnn(self.lstm, torch.relu(self.inp(x)), lengths)
        return torch.sigmoid(self.out(torch.cat([h_n[-2], h_n[-1]], dim=1)))


class GruRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x, lengths=None):
        out, h_n = run_rnn(self.gru, x, lengths)
        return torch.tanh(self.fc(out[:, -1] if lengths is None else h_n[-1]))


class SpecialLinear(nn.Module):
    """nn.Linear(9, 1) whose weights are special values of a 16-bit float (see special_case)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(9, 1, bias=False)

    def forward(self, x, lengths=None):
        return self.lin(x)


class EmbeddingGru(nn.Module):
    """Ids -> nn.Embedding -> a GRU's last step -> a Linear and a softmax."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(25, 7)
        self.gru = nn.GRU(7, 5, batch_first=True, num_layers=1)
        self.head = nn.Linear(5, 2)

    def forward(self, x, lengths=None):
        out, h_n = run_rnn(self.gru, self.emb(x), lengths)
        return torch.softmax(self.head(out[:, -1] if lengths is None else h_n[-1]), dim=-1)


class LstmProj(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, proj_size=2, batch_first=True)


CLASSIFIER_CONFIG = {"layers": [{"module": "rnn", "lastStep": True}, {"module": "head", "activation": "softmax"}]}
TAGGER_CONFIG = {"layers": [{"module": "encoder.gru"}, {"module": "proj"}]}
NOBIAS_CONFIG = {"layers": [{"module": "inp", "activation": "relu"}, {"module": "lstm", "lastStep": True},
                            {"module": "out", "activation": "sigmoid"}]}
REGRESSOR_CONFIG = {"layers": [{"module": "gru", "lastStep": True}, {"module": "fc", "activation": "tanh"}]}
EMBEDDING_CONFIG = {"layers": [{"module": "emb", "embedding": True}, {"module": "gru", "lastStep": True},
                               {"module": "head", "activation": "softmax"}]}


def case(name, file, model_cls, seed, config, config_in_file, dtype, batches, vocab=None):
    """Builds the model, writes its file and returns its golden case (with a vocab: on ids in [0, vocab))."""
    torch.manual_seed(seed)
    model = model_cls().eval()
    metadata = {"format": "pt"}
    if config_in_file:
        metadata[CONFIG_KEY] = json.dumps(config)
    state = stored_state(model, dtype)
    write_safetensors(OUT_DIR / file, state, dtype, metadata)
    rng = np.random.default_rng(seed)
    calls = []
    for B, T, lengths in batches:
        if vocab:
            x = rng.integers(0, vocab, size=(B, T))
            x[0, :2] = [0, vocab - 1]  # the table's first and last rows in every call
        else:
            x = rng.uniform(-1, 1, size=(B, T, model_in_features(model))).astype(np.float32)
        y32, y64 = run_model(model_cls, state, x, lengths)
        call = {"input": x.tolist() if vocab else f32(x)}
        if lengths is not None:
            call["sequenceLengths"] = list(lengths)
        call["expected"] = f32(y32)
        call["expected64"] = [float(v) for v in y64.ravel()]
        calls.append(call)
    result = {"name": name, "file": file, "dtype": dtype, "calls": calls, "tolerance": TOLERANCE}
    if not config_in_file:
        result["config"] = config
    return result


# Bit patterns: subnormals (one negative), the smallest normal, the largest finite, -0, 1, -2,
# 1/3 rounded.
SPECIAL_BITS = {
    "F16": [0x0001, 0x03FF, 0x8001, 0x0400, 0x7BFF, 0x8000, 0x3C00, 0xC000, 0x3555],
    "BF16": [0x0001, 0x007F, 0x8001, 0x0080, 0x7F7F, 0x8000, 0x3F80, 0xC000, 0x3EAB],
}


def special_case(dtype):
    """A Linear whose weight holds special 16-bit values, run on the identity: the output is the
    weights as torch converts them to float32."""
    bits = torch.from_numpy(np.array(SPECIAL_BITS[dtype], dtype=np.uint16).view(np.int16))
    state = {"lin.weight": bits.view(DTYPES[dtype]).reshape(1, -1)}
    file = f"linear_special_{dtype.lower()}.safetensors"
    config = {"layers": [{"module": "lin"}]}
    write_safetensors(OUT_DIR / file, state, dtype, {CONFIG_KEY: json.dumps(config)})
    x = np.eye(len(SPECIAL_BITS[dtype]), dtype=np.float32)[None]
    y32, y64 = run_model(SpecialLinear, state, x, None)
    call = {"input": f32(x), "expected": f32(y32), "expected64": [float(v) for v in y64.ravel()]}
    # Exact conversions (the test compares float32 with float32): a wrong subnormal would hide
    # under 1e-5 absolute.
    exact = {"abs": 0, "rel": 0}
    return {"name": f"linear-special-values-{dtype.lower()}", "file": file, "dtype": dtype, "calls": [call], "tolerance": exact}


def model_in_features(model):
    first = next(iter(model.state_dict().values()))
    return first.shape[1]


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    cases = [
        case("lstm-2layer-last-softmax", "lstm_classifier.safetensors", LstmClassifier, 11,
             CLASSIFIER_CONFIG, False, "F32", [(3, 5, None), (3, 6, [6, 2, 4])]),
        case("bigru-2layer-sequence-linear", "bigru_tagger.safetensors", BigruTagger, 12,
             TAGGER_CONFIG, True, "F32", [(2, 5, None), (3, 4, [4, 1, 3])]),
        case("linear-relu-bilstm-nobias-final-sigmoid", "lstm_nobias.safetensors", LstmNoBias, 13,
             NOBIAS_CONFIG, False, "F32", [(3, 5, None), (3, 5, [5, 3, 1])]),
    ]
    for dtype in ("F16", "BF16", "F64"):
        cases.append(case(f"gru-last-tanh-{dtype.lower()}", f"gru_{dtype.lower()}.safetensors", GruRegressor, 14,
                          REGRESSOR_CONFIG, True, dtype, [(2, 6, None)]))
    cases += [special_case("F16"), special_case("BF16")]
    cases.append(case("embedding-gru-last-softmax", "embedding_gru.safetensors", EmbeddingGru, 16,
                      EMBEDDING_CONFIG, True, "F32", [(2, 6, None), (3, 5, [5, 2, 4])], vocab=25))
    torch.manual_seed(15)
    write_safetensors(OUT_DIR / "lstm_proj.safetensors", stored_state(LstmProj(), "F32"), "F32", {"format": "pt"})

    golden = {
        "generator": "scripts/gen_torch_models.py",
        "versions": {"torch": torch.__version__.split("+")[0], "numpy": np.__version__},
        "note": "Inputs [B,T,I] batch-first (ids [B,T] where the first module is an nn.Embedding). expected: torch float32 on the file's weights (as float32); "
                "expected64: the same in float64. Configs not listed here are in the file's "
                f"__metadata__.{CONFIG_KEY}.",
        "cases": cases,
    }
    (OUT_DIR / "golden.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
