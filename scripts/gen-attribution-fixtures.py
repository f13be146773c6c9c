"""Generate the attribution fixtures in test/fixtures/attribution/ (the oracle for `attribute`).

Each model is built from seeded random weights; its forward pass is written here by hand in torch,
in float64, in Keras' equations (LSTM gates i, f, c, o; GRU z, r, h with reset_after), so masks,
goBackwards and sequence lengths follow lstm-runtime's SPEC exactly. Every method is computed as
Captum (pytorch/captum, which does not install here) defines it, on top of torch autograd:

  gradient               Saliency(abs=False): d target / d input
  gradient-x-input       InputXGradient: input * gradient
  integrated-gradients   IntegratedGradients(method='gausslegendre'): alphas and step sizes are
                         numpy's leggauss(n) nodes and weights rescaled to [0, 1]
                         (alpha = (1 + node) / 2, step = weight / 2); attribution =
                         (x - baseline) * sum_k step_k * grad(baseline + alpha_k (x - baseline));
                         delta = sum(attribution) - (F(x) - F(baseline)) per example
  occlusion              Occlusion(sliding_window_shapes=(window, I), strides=(stride, I),
                         baselines=0): windows start at k * stride for
                         k = 0 .. ceil((T - window) / stride), so when (T - window) is not a
                         multiple of the stride the last one is cut short at T; each cell gets
                         F(x) - F(occluded) averaged over the windows covering it

Masked steps (a Keras mask or steps past a sequence length) score 0: the gradient methods give 0
there by themselves (such a step's input does not reach the output); occlusion, which would give
a masked cell the average of its windows, has those cells set to 0. The mask is an option of the
call, so it stays the same for every occluded or interpolated input.

An Embedding model is attributed in the embedding's output space, as Captum's
LayerIntegratedGradients on the embedding layer does: the input is the [B, T, D] matrix of looked-up
vectors, the baseline (integrated gradients, occlusion) is the zero vector, and the score of a token
(`scores` [B, T, 1]) is the attribution summed over the D embedding features; `embeddingScores`
[B, T, D] holds the per-feature values (for 'gradient', the gradient with respect to the embedding
vectors). Occlusion replaces a window of tokens' vectors by zeros and gives each token the averaged
output difference itself (not D times it), with no `embeddingScores`.

Self-checks (the script stops if one fails): the hand-written LSTM, GRU and bidirectional LSTM
against torch.nn.LSTM / nn.GRU with the weights re-laid-out (goBackwards through a flipped input,
sequence lengths through pack_padded_sequence) within 1e-10; Keras' masks (LSTM, GRU,
Bidirectional, GlobalAveragePooling1D, keras 3 on jax, float32) within 1e-5; every model's autograd
gradient against central finite differences in float64; occlusion with window 1 and integrated
gradients with many steps against their closed-form limits.

Format: test/fixtures/attribution/FORMAT.md. Run from the repository root (torch 2.13 CPU, numpy,
keras 3 + jax for the mask cross-check):
    KERAS_BACKEND=jax python3 scripts/gen-attribution-fixtures.py
The output is deterministic: each model's RNG seed is the CRC32 of its file name.
"""

import json
import math
import os
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")  # must precede the keras import

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "attribution"
TORCH_VERSION = torch.__version__.split("+")[0]
IG_STEPS = 50  # Captum's default n_steps
FORWARD_CHECK = 1e-10  # hand-written cells vs torch.nn, both float64
KERAS_CHECK = 1e-5  # hand-written cells vs Keras (float32)
FD_STEP = 1e-6
FD_CHECK = 1e-7  # central differences vs autograd, float64
RESULT_DIGITS = 10  # significant digits of written results: far below the tests' tolerances

# ---------------------------------------------------------------- values and JSON


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def as_f32(a):
    """float64 values that are exactly float32 (so lstm-runtime's float32 copy is the same number)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def uniform(rng, shape, scale):
    return as_f32(rng.uniform(-scale, scale, size=shape))


def exact_tensor(a):
    """{data, shape} of float32-exact values, each written as the shortest decimal that round-trips float32."""
    a = np.asarray(a, dtype=np.float64)
    data = [float(str(np.float32(v))) for v in a.ravel()]
    assert np.array_equal(np.array(data, dtype=np.float32), a.ravel()), "value not exactly float32"
    return {"data": data, "shape": list(a.shape)}


def result_tensor(a):
    """{data, shape} of float64 results, RESULT_DIGITS significant digits."""
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    return {"data": [float(f"{v:.{RESULT_DIGITS}g}") for v in a.ravel()], "shape": list(a.shape)}


def t64(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------- layers (Keras semantics)


def step_keep(B, T, mask, lengths):
    """[B, T] 1.0 where a step is real, and [B, T] 1.0 where it is padding past a sequence length."""
    keep = torch.ones(B, T)
    padding = torch.zeros(B, T)
    if mask is not None:
        keep = keep * t64(mask)
    if lengths is not None:
        real = (torch.arange(T)[None, :] < torch.as_tensor(lengths)[:, None]).double()
        keep = keep * real
        padding = 1 - real
    return keep, padding


def run_recurrent(cell, x, state, go_backwards, return_sequences, mask, lengths, zero_output_for_mask=False):
    """Keras' RNN loop around `cell(x_t, state) -> (output, state)`.

    A masked step keeps the state and repeats the previous output (zeros with
    zero_output_for_mask); a step past a sequence length keeps the state and outputs zeros.
    With go_backwards the steps run from last to first and the output is in processing order.
    """
    B, T, _ = x.shape
    keep, padding = step_keep(B, T, mask, lengths)
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    outputs = []
    previous = torch.zeros_like(state[0])
    for t in order:
        out, new_state = cell(x[:, t], state)
        m = keep[:, t : t + 1]
        state = tuple(m * n + (1 - m) * s for n, s in zip(new_state, state))
        held = torch.zeros_like(previous) if zero_output_for_mask else previous
        out = m * out + (1 - m) * held
        out = out * (1 - padding[:, t : t + 1])
        outputs.append(out)
        previous = out
    h = state[0]
    return torch.stack(outputs, dim=1) if return_sequences else h


def lstm_cell(W, R, b):
    U = R.shape[0]

    def cell(x_t, state):
        h, c = state
        z = x_t @ W + h @ R + b
        i, f, g, o = (z[:, k * U : (k + 1) * U] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)

    return cell


def gru_cell(W, R, b):
    """Keras GRU, reset_after=True: bias [2, 3U] (input bias, recurrent bias), gates z, r, h."""
    U = R.shape[0]

    def cell(x_t, state):
        (h,) = state
        xi = x_t @ W + b[0]
        hr = h @ R + b[1]
        z = torch.sigmoid(xi[:, :U] + hr[:, :U])
        r = torch.sigmoid(xi[:, U : 2 * U] + hr[:, U : 2 * U])
        candidate = torch.tanh(xi[:, 2 * U :] + r * hr[:, 2 * U :])
        h = z * h + (1 - z) * candidate
        return h, (h,)

    return cell


ACTIVATIONS = {"linear": lambda v: v, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


class Layer:
    """One layer: its JSON (kind, options, weights) and its float64 forward."""

    def __init__(self, kind, options, weights, backward_weights=None):
        self.kind, self.options, self.weights, self.backward_weights = kind, options, weights, backward_weights

    def json(self):
        entry = {"kind": self.kind, "options": self.options}
        if self.weights is not None:
            entry["weights"] = {k: exact_tensor(v) for k, v in self.weights.items()}
        if self.backward_weights is not None:
            entry["backwardWeights"] = {k: exact_tensor(v) for k, v in self.backward_weights.items()}
        return entry

    def recurrent_run(self, weights, options, x, mask, lengths, go_backwards=None):
        w = {k: t64(v) for k, v in weights.items()}
        B = x.shape[0]
        U = options["units"]
        if options.get("type", self.kind) == "gru":
            cell, state = gru_cell(w["kernel"], w["recurrentKernel"], w["bias"]), (torch.zeros(B, U),)
        else:
            cell, state = lstm_cell(w["kernel"], w["recurrentKernel"], w["bias"]), (torch.zeros(B, U), torch.zeros(B, U))
        backwards = options.get("goBackwards", False) if go_backwards is None else go_backwards
        return run_recurrent(cell, x, state, backwards, options.get("returnSequences", False), mask, lengths)

    def forward(self, x, mask, lengths):
        if self.kind in ("lstm", "gru"):
            return self.recurrent_run(self.weights, self.options, x, mask, lengths)
        if self.kind == "bidirectional":
            inner = self.options["layer"]
            assert not inner.get("returnSequences", False) and self.options["mergeMode"] == "concat"
            forward = self.recurrent_run(self.weights, inner, x, mask, lengths, go_backwards=False)
            backward = self.recurrent_run(self.backward_weights, inner, x, mask, lengths, go_backwards=True)
            return torch.cat([forward, backward], dim=-1)
        if self.kind == "dense":
            y = x @ t64(self.weights["kernel"]) + t64(self.weights["bias"])
            return ACTIVATIONS[self.options.get("activation", "linear")](y)
        if self.kind == "globalPooling1D":
            assert self.options["mode"] == "average"
            keep, _ = step_keep(x.shape[0], x.shape[1], mask, lengths)
            return (x * keep[:, :, None]).sum(dim=1) / keep.sum(dim=1, keepdim=True)
        raise ValueError(self.kind)


class Model:
    """A Sequential: the mask and sequence lengths reach every layer until one folds the steps away."""

    def __init__(self, name, layers, embedding=None):
        self.name, self.layers, self.embedding = name, layers, embedding

    def forward(self, x, mask=None, lengths=None):
        """x: [B, T, I] (for an Embedding model, the looked-up vectors [B, T, D])."""
        for layer in self.layers:
            x = layer.forward(x, mask, lengths)
            if x.dim() == 2:
                mask = lengths = None
        return x

    def layers_json(self):
        first = []
        if self.embedding is not None:
            table, mask_zero = self.embedding
            first = [{"kind": "embedding", "options": {"maskZero": mask_zero}, "weights": {"embeddings": exact_tensor(table)}}]
        return first + [layer.json() for layer in self.layers]


# Scales chosen so the gates move over most of their range without sitting at 0 or 1
# (saturation_check) and the scores are large next to the tests' absolute tolerances.
KERNEL_SCALE, RECURRENT_SCALE, BIAS_SCALE, INPUT_SCALE = 1.0, 0.8, 0.5, 1.5


def lstm_weights(rng, I, U):
    return {"kernel": uniform(rng, (I, 4 * U), KERNEL_SCALE), "recurrentKernel": uniform(rng, (U, 4 * U), RECURRENT_SCALE),
            "bias": uniform(rng, (4 * U,), BIAS_SCALE)}


def gru_weights(rng, I, U):
    return {"kernel": uniform(rng, (I, 3 * U), KERNEL_SCALE), "recurrentKernel": uniform(rng, (U, 3 * U), RECURRENT_SCALE),
            "bias": uniform(rng, (2, 3 * U), BIAS_SCALE)}


def dense(rng, n_in, n_out, activation="linear", scale=1.5):
    return Layer("dense", {"activation": activation},
                 {"kernel": uniform(rng, (n_in, n_out), scale), "bias": uniform(rng, (n_out,), 0.2)})


# ---------------------------------------------------------------- methods, as Captum defines them


def target_of(output, target, target_step):
    """[B] values of the target: the last axis at `target`, at `target_step` (default last) of a sequence."""
    if output.dim() == 3:
        return output[:, output.shape[1] - 1 if target_step is None else target_step, target]
    return output[:, target]


def gradient(F, x):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F(x).sum(), x)  # rows are independent: the sum's gradient is each row's
    return g


def gauss_legendre(n):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (1 + nodes), 0.5 * weights  # alphas and step sizes on [0, 1], as Captum rescales them


def integrated_gradients(F, x, baseline, steps):
    alphas, step_sizes = gauss_legendre(steps)
    total = torch.zeros_like(x)
    for alpha, step in zip(alphas, step_sizes):
        total += float(step) * gradient(F, baseline + float(alpha) * (x - baseline))
    attribution = total * (x - baseline)
    with torch.no_grad():
        delta = attribution.reshape(x.shape[0], -1).sum(1) - (F(x) - F(baseline))
    return attribution, delta


def occlusion_windows(T, window, stride):
    """Captum's windows over the step axis: [start, end) with the last one cut short at T."""
    assert window <= T and (window == T or stride <= window), "Captum refuses these"
    count = math.ceil((T - window) / stride) + 1
    return [(k * stride, min(k * stride + window, T)) for k in range(count)]


def occlusion(F, x, window, stride):
    B, T, _ = x.shape
    total = torch.zeros_like(x)
    covered = torch.zeros(T)
    with torch.no_grad():
        reference = F(x)
        for start, end in occlusion_windows(T, window, stride):
            occluded = x.clone()
            occluded[:, start:end, :] = 0
            total[:, start:end, :] += (reference - F(occluded))[:, None, None]
            covered[start:end] += 1
    return total / covered[None, :, None]


# ---------------------------------------------------------------- cases


def make_cases(model, x, targets, target_step=None, mask=None, lengths=None, ids=None):
    """All four methods on one input (and one mask or set of lengths) for each target."""
    B, T, I = x.shape
    keep, _ = step_keep(B, T, mask, lengths)
    baseline = uniform(rng_for(model.name + "/baseline"), (B, T, I), 0.5)
    cases = []
    for target in targets:
        def F(v, target=target):
            return target_of(model.forward(v, mask, lengths), target, target_step)

        variant = " with a mask" if mask is not None else f" with lengths {lengths}" if lengths is not None else ""
        check_gradient(F, x, f"{model.name} target {target}{variant}")
        common = {"target": target}
        if target_step is not None:
            common["targetStep"] = target_step
        if mask is not None:
            common["mask"] = np.asarray(mask, dtype=int).tolist()
        if lengths is not None:
            common["sequenceLengths"] = list(lengths)
        output = result_tensor(model.forward(x, mask, lengths))
        g = gradient(F, x)
        runs = [({"method": "gradient"}, g, None),
                ({"method": "gradient-x-input"}, g * x, None)]
        attribution, delta = integrated_gradients(F, x, torch.zeros_like(x), IG_STEPS)
        runs.append(({"method": "integrated-gradients"}, attribution, delta))
        if ids is None:  # a model of ids takes no baseline in embedding space
            attribution, delta = integrated_gradients(F, x, t64(baseline), 7)
            runs.append(({"method": "integrated-gradients", "steps": 7, "baseline": exact_tensor(baseline)}, attribution, delta))
        # Two nodes tell Gauss-Legendre from any other rule beyond the tolerances
        attribution, delta = integrated_gradients(F, x, torch.zeros_like(x), 2)
        runs.append(({"method": "integrated-gradients", "steps": 2}, attribution, delta))
        assert (T - 3) % 2 == 1, "window 3, stride 2 must end with a window cut short"
        for window, stride in [(1, 1), (3, 2)]:
            runs.append(({"method": "occlusion", "window": window, "stride": stride},
                         occlusion(F, x, window, stride) * keep[:, :, None], None))
        for spec, attribution, delta in runs:
            assert torch.all(attribution[keep == 0] == 0), "a masked step scored"
            case = {**spec, **common}
            if ids is not None:
                if spec["method"] == "occlusion":
                    scores = attribution[:, :, :1]  # every feature of a token holds the same value
                else:
                    case["embeddingScores"] = result_tensor(attribution)
                    scores = attribution.sum(dim=2, keepdim=True)
            else:
                scores = attribution
            case["scores"] = result_tensor(scores)
            case["perStep"] = result_tensor(scores.sum(dim=2))
            if delta is not None:
                case["delta"] = result_tensor(delta)
            case["output"] = output
            cases.append(case)
    return cases


def check_gradient(F, x, what):
    """Autograd against central finite differences in float64, every input value."""
    g = gradient(F, x)
    fd = torch.zeros_like(x)
    with torch.no_grad():
        for index in np.ndindex(*x.shape):
            up, down = x.clone(), x.clone()
            up[index] += FD_STEP
            down[index] -= FD_STEP
            fd[index] = ((F(up) - F(down)) / (2 * FD_STEP)).sum()
    worst = (g - fd).abs().max().item()
    assert worst < FD_CHECK, f"{what}: autograd vs finite differences {worst}"
    CHECKS.append(f"{what}: autograd vs central differences max {worst:.1e}")


def check_methods(F, x):
    """Occlusion with window 1 and IG with many steps against what they must tend to."""
    ig, delta = integrated_gradients(F, x, torch.zeros_like(x), 200)
    assert delta.abs().max().item() < 1e-8, f"IG(200) completeness {delta}"
    CHECKS.append(f"integrated gradients, 200 steps: |delta| max {delta.abs().max().item():.1e}")
    # Captum's count: ceil((T - window) / stride) + 1 windows from 0
    assert occlusion_windows(7, 3, 2) == [(0, 3), (2, 5), (4, 7)]
    assert occlusion_windows(8, 3, 2) == [(0, 3), (2, 5), (4, 7), (6, 8)]  # the last cut short
    assert occlusion_windows(6, 3, 3) == [(0, 3), (3, 6)]


def write(name, model, x, cases, source, ids=None):
    doc = {"source": source, "generator": f"scripts/gen-attribution-fixtures.py (torch {TORCH_VERSION}, float64)",
           "layers": model.layers_json()}
    doc["input"] = {"data": [int(v) for v in np.ravel(ids)], "shape": list(np.shape(ids))} if ids is not None else exact_tensor(x.numpy())
    doc["cases"] = cases
    path = OUT_DIR / f"{name}.json"
    text = json.dumps(doc, separators=(",", ":"))
    assert len(text) < 300_000, f"{path} is {len(text)} bytes"
    path.write_text(text + "\n")
    print(f"wrote {path.relative_to(OUT_DIR.parent.parent.parent)}: {len(cases)} cases, {len(text) // 1024} kB")


def saturation_check(model_name, weights, x):
    """Most input-driven gate pre-activations must be off the sigmoid's flat ends: the weights exercise the gates."""
    b = weights["bias"]
    z = x.reshape(-1, x.shape[2]) @ t64(weights["kernel"]) + t64(b if b.ndim == 1 else b[0])
    live = ((z.abs() < 2.9).double().mean()).item()  # sigmoid within (0.05, 0.95)
    assert live > 0.6, f"{model_name}: only {live:.0%} of gate inputs unsaturated"
    CHECKS.append(f"{model_name}: {live:.0%} of input-driven gate pre-activations within |z| < 2.9")


CHECKS = []

# ---------------------------------------------------------------- oracle self-checks against torch.nn and Keras


def torch_lstm_from_keras(weights, I, U, bidirectional=False, backward=None):
    lstm = torch.nn.LSTM(I, U, batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():
        pairs = [("", weights)] + ([("_reverse", backward)] if bidirectional else [])
        for suffix, w in pairs:
            getattr(lstm, "weight_ih_l0" + suffix).copy_(t64(w["kernel"]).T)  # same gate order i, f, g, o
            getattr(lstm, "weight_hh_l0" + suffix).copy_(t64(w["recurrentKernel"]).T)
            getattr(lstm, "bias_ih_l0" + suffix).copy_(t64(w["bias"]))
            getattr(lstm, "bias_hh_l0" + suffix).zero_()
    return lstm


def torch_gru_from_keras(weights, I, U):
    """Keras z, r, h -> PyTorch r, z, n; Keras' reset_after bias rows are PyTorch's b_ih and b_hh."""
    gru = torch.nn.GRU(I, U, batch_first=True)
    order = lambda a: torch.cat([a[..., U : 2 * U], a[..., :U], a[..., 2 * U :]], dim=-1)  # noqa: E731
    with torch.no_grad():
        gru.weight_ih_l0.copy_(order(t64(weights["kernel"])).T)
        gru.weight_hh_l0.copy_(order(t64(weights["recurrentKernel"])).T)
        gru.bias_ih_l0.copy_(order(t64(weights["bias"][0])))
        gru.bias_hh_l0.copy_(order(t64(weights["bias"][1])))
    return gru


def check_against_torch_nn():
    rng = rng_for("torch.nn cross-check")
    B, T, I, U = 3, 7, 4, 5
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    lengths = [7, 4, 1]
    lw, bw, gw = lstm_weights(rng, I, U), lstm_weights(rng, I, U), gru_weights(rng, I, U)

    def compare(mine, theirs, what):
        worst = (mine - theirs).abs().max().item()
        assert worst < FORWARD_CHECK, f"{what}: {worst}"
        CHECKS.append(f"{what}: max diff {worst:.1e}")

    lstm = torch_lstm_from_keras(lw, I, U)
    with torch.no_grad():
        ours = Layer("lstm", {"units": U, "returnSequences": True}, lw).forward(x, None, None)
        compare(ours, lstm(x)[0], "LSTM sequence vs torch.nn.LSTM")
        ours = Layer("lstm", {"units": U, "returnSequences": True, "goBackwards": True}, lw).forward(x, None, None)
        compare(ours, lstm(x.flip(1))[0], "LSTM goBackwards vs torch.nn.LSTM on the flipped input")
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        compare(Layer("lstm", {"units": U}, lw).forward(x, None, lengths), lstm(packed)[1][0][0], "LSTM sequenceLengths final h vs packed torch.nn.LSTM")

        gru = torch_gru_from_keras(gw, I, U)
        compare(Layer("gru", {"units": U, "returnSequences": True}, gw).forward(x, None, None), gru(x)[0], "GRU (reset_after) sequence vs torch.nn.GRU")
        compare(Layer("gru", {"units": U}, gw).forward(x, None, lengths), gru(packed)[1][0], "GRU sequenceLengths final h vs packed torch.nn.GRU")

        bi = torch_lstm_from_keras(lw, I, U, bidirectional=True, backward=bw)
        layer = Layer("bidirectional", {"layer": {"units": U}, "mergeMode": "concat"}, lw, bw)
        h_n = bi(packed)[1][0]
        compare(layer.forward(x, None, lengths), torch.cat([h_n[0], h_n[1]], dim=-1), "Bidirectional LSTM sequenceLengths vs packed bidirectional torch.nn.LSTM")
        trailing = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).int().numpy()
        compare(layer.forward(x, trailing, None), torch.cat([h_n[0], h_n[1]], dim=-1), "Bidirectional LSTM trailing mask vs packed bidirectional torch.nn.LSTM")


def check_against_keras():
    """Keras' own masks (float32), for the semantics torch.nn has no notion of."""
    import keras

    rng = rng_for("keras cross-check")
    B, T, I, U = 3, 6, 4, 5
    x = uniform(rng, (B, T, I), 1.0)
    mask = np.array([[1, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 1], [1, 0, 1, 1, 1, 0]])
    lw, bw, gw = lstm_weights(rng, I, U), lstm_weights(rng, I, U), gru_weights(rng, I, U)
    kmask = mask.astype(bool)

    def compare(mine, theirs, what):
        worst = np.abs(mine.detach().numpy() - np.asarray(theirs, dtype=np.float64)).max()
        assert worst < KERAS_CHECK, f"{what}: {worst}"
        CHECKS.append(f"{what}: max diff {worst:.1e} (Keras float32)")

    def keras_layer(layer, weights):
        layer.build((B, T, I))
        layer.set_weights([np.asarray(w, dtype=np.float32) for w in weights])
        return layer

    xf = x.astype(np.float32)
    for backwards in (False, True):
        k = keras_layer(keras.layers.LSTM(U, return_sequences=True, go_backwards=backwards), lw.values())
        mine = Layer("lstm", {"units": U, "returnSequences": True, "goBackwards": backwards}, lw).forward(t64(x), mask, None)
        compare(mine, k(xf, mask=kmask), f"LSTM mask{' goBackwards' if backwards else ''} vs keras.layers.LSTM")
    k = keras_layer(keras.layers.GRU(U, return_sequences=True, reset_after=True), gw.values())
    compare(Layer("gru", {"units": U, "returnSequences": True}, gw).forward(t64(x), mask, None), k(xf, mask=kmask), "GRU mask vs keras.layers.GRU")
    k = keras.layers.Bidirectional(keras.layers.LSTM(U), merge_mode="concat")
    k.build((B, T, I))
    k.set_weights([np.asarray(w, dtype=np.float32) for w in [*lw.values(), *bw.values()]])
    layer = Layer("bidirectional", {"layer": {"units": U}, "mergeMode": "concat"}, lw, bw)
    compare(layer.forward(t64(x), mask, None), k(xf, mask=kmask), "Bidirectional LSTM mask vs keras.layers.Bidirectional")
    pool = Layer("globalPooling1D", {"mode": "average"}, None)
    compare(pool.forward(t64(x), mask, None), keras.layers.GlobalAveragePooling1D()(xf, mask=kmask), "GlobalAveragePooling1D mask vs Keras")


# ---------------------------------------------------------------- the models


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    check_against_torch_nn()
    check_against_keras()

    # (a) LSTM -> Dense, with a Keras mask and with sequence lengths
    name = "lstm-dense"
    rng = rng_for(name)
    B, T, I, U, K = 2, 8, 3, 5, 3
    lw = lstm_weights(rng, I, U)
    model = Model(name, [Layer("lstm", {"units": U, "returnSequences": False}, lw), dense(rng, U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    saturation_check(name, lw, x)
    check_methods(lambda v: target_of(model.forward(v), 1, None), x)
    mask = [[1, 1, 0, 1, 1, 0, 1, 1], [0, 1, 1, 1, 0, 1, 1, 0]]
    cases = (make_cases(model, x, [1, 0]) + make_cases(model, x, [2], mask=mask)
             + make_cases(model, x, [2], lengths=[5, 8]))
    write(name, model, x, cases, "LSTM(5, returnSequences false) -> Dense(3, linear); cases without a mask "
          "(targets 1, 0), with a Keras mask (holes; a masked step keeps h and c) and with sequenceLengths [5, 8]")

    # (b) GRU (reset_after, bias [2, 3U]) -> Dense, and a mask
    name = "gru-dense"
    rng = rng_for(name)
    B, T, I, U, K = 2, 6, 4, 5, 2
    gw = gru_weights(rng, I, U)
    model = Model(name, [Layer("gru", {"units": U, "returnSequences": False, "resetAfter": True}, gw), dense(rng, U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    saturation_check(name, gw, x)
    mask = [[1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 1]]
    cases = make_cases(model, x, [0, 1]) + make_cases(model, x, [1], mask=mask)
    write(name, model, x, cases, "GRU(5, resetAfter true: Keras bias [2, 3U]) -> Dense(2, linear); cases "
          "without a mask (targets 0, 1) and with a Keras mask")

    # (c) Bidirectional LSTM (concat) -> Dense, and a trailing-padding mask
    name = "bidirectional-lstm-dense"
    rng = rng_for(name)
    B, T, I, U, K = 2, 8, 3, 4, 2
    fw, bw = lstm_weights(rng, I, U), lstm_weights(rng, I, U)
    bi = Layer("bidirectional", {"layer": {"type": "lstm", "units": U, "returnSequences": False}, "mergeMode": "concat"}, fw, bw)
    model = Model(name, [bi, dense(rng, 2 * U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    mask = [[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 1, 1, 1]]
    cases = make_cases(model, x, [1]) + make_cases(model, x, [0], mask=mask)
    write(name, model, x, cases, "Bidirectional(LSTM(4, returnSequences false), mergeMode concat) -> Dense(2, "
          "linear); 'weights' is the forward direction's, 'backwardWeights' the backward's (the wrapped "
          "layer's options are 'options.layer'); cases without a mask and with a Keras mask")

    # (d) LSTM(returnSequences) -> GRU -> Dense(tanh) -> Dense
    name = "stacked"
    rng = rng_for(name)
    B, T, I, U1, U2, H, K = 2, 8, 4, 5, 4, 6, 2
    lw, gw = lstm_weights(rng, I, U1), gru_weights(rng, U1, U2)
    model = Model(name, [Layer("lstm", {"units": U1, "returnSequences": True}, lw),
                         Layer("gru", {"units": U2, "returnSequences": False, "resetAfter": True}, gw),
                         dense(rng, U2, H, "tanh"), dense(rng, H, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    mask = [[1, 0, 1, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 1, 0, 1]]
    cases = (make_cases(model, x, [0]) + make_cases(model, x, [1], mask=mask)
             + make_cases(model, x, [1], lengths=[8, 3]))
    write(name, model, x, cases, "LSTM(5, returnSequences true) -> GRU(4, resetAfter true) -> Dense(6, tanh) -> "
          "Dense(2, linear); the mask and sequenceLengths reach both recurrent layers (LSTM's output at a "
          "masked step repeats its previous output, at a step past the length is 0)")

    # (e) sequence output: LSTM(returnSequences) -> Dense per step, targetStep cases
    name = "sequence-output"
    rng = rng_for(name)
    B, T, I, U, K = 2, 6, 3, 5, 2
    lw = lstm_weights(rng, I, U)
    model = Model(name, [Layer("lstm", {"units": U, "returnSequences": True}, lw), dense(rng, U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    cases = make_cases(model, x, [1]) + make_cases(model, x, [0], target_step=2) + make_cases(model, x, [1], target_step=0)
    write(name, model, x, cases, "LSTM(5, returnSequences true) -> Dense(2) per step, output [B, T, 2]; cases "
          "without targetStep (the last step), targetStep 2 and targetStep 0 (later inputs score 0)")

    # (f) goBackwards LSTM -> Dense, and a mask (reversed with the input)
    name = "lstm-go-backwards"
    rng = rng_for(name)
    B, T, I, U, K = 2, 6, 3, 4, 2
    lw = lstm_weights(rng, I, U)
    model = Model(name, [Layer("lstm", {"units": U, "returnSequences": False, "goBackwards": True}, lw), dense(rng, U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    mask = [[1, 1, 0, 1, 1, 0], [0, 1, 1, 0, 1, 1]]
    cases = make_cases(model, x, [0]) + make_cases(model, x, [1], mask=mask)
    write(name, model, x, cases, "LSTM(4, goBackwards true, returnSequences false: its output is the state "
          "after step 0) -> Dense(2); scores are time-aligned with the input; cases without a mask and with a "
          "Keras mask (given time-aligned, as the input)")

    # (h) Embedding(maskZero) -> LSTM -> Dense(softmax-free)
    name = "embedding-lstm"
    rng = rng_for(name)
    B, T, V, D, U, K = 2, 8, 7, 4, 5, 3
    table = uniform(rng, (V, D), INPUT_SCALE)
    lw = lstm_weights(rng, D, U)
    ids = np.array([[3, 1, 4, 1, 5, 6, 2, 6], [2, 5, 3, 5, 6, 0, 0, 0]])
    model = Model(name, [Layer("lstm", {"units": U, "returnSequences": False}, lw), dense(rng, U, K)], embedding=(table, True))
    e = t64(table[ids])  # the embedding's output: what is attributed
    mask = (ids != 0).astype(int)
    cases = make_cases(model, e, [2], mask=mask, ids=ids) + make_cases(model, e, [0], mask=mask, ids=ids)
    write(name, model, e, cases, "Embedding(7 ids -> 4, maskZero true) -> LSTM(5) -> Dense(3); input: ids [B, T], "
          "row 1 padded with id 0 (masked by maskZero; each case also carries that mask). Attributed in the "
          "embedding's output space (Captum LayerIntegratedGradients on the embedding): baseline the zero "
          "vector; scores [B, T, 1] per token = the attribution summed over the 4 embedding features, "
          "embeddingScores [B, T, 4] the per-feature values ('gradient': the gradient with respect to the "
          "embedding vectors); occlusion zeroes a window of tokens' vectors and scores each token with the "
          "averaged output difference itself (no embeddingScores). No non-zero-baseline case (a baseline "
          "for ids is not defined).", ids=ids)

    # (i) LSTM(returnSequences) -> GlobalAveragePooling1D -> Dense, with a mask and with lengths
    name = "global-average-pooling"
    rng = rng_for(name)
    B, T, I, U, K = 2, 6, 3, 5, 2
    lw = lstm_weights(rng, I, U)
    model = Model(name, [Layer("lstm", {"units": U, "returnSequences": True}, lw),
                         Layer("globalPooling1D", {"mode": "average"}, None), dense(rng, U, K)])
    x = t64(uniform(rng, (B, T, I), INPUT_SCALE))
    mask = [[1, 1, 0, 1, 1, 1], [0, 1, 1, 1, 0, 1]]
    cases = (make_cases(model, x, [1]) + make_cases(model, x, [0], mask=mask)
             + make_cases(model, x, [1], lengths=[4, 6]))
    write(name, model, x, cases, "LSTM(5, returnSequences true) -> GlobalPooling1D(mode average: mask-aware, "
          "averages the real steps only) -> Dense(2); cases without a mask, with a Keras mask and with "
          "sequenceLengths [4, 6]")

    print("\n".join(CHECKS))


if __name__ == "__main__":
    main()
