"""CNN-LSTM models (Conv1D -> pooling -> normalisation -> LSTM -> Dense) from Keras 3 and PyTorch,
with their frameworks' own outputs, for test/conv-models.test.ts.

    KERAS_BACKEND=jax python3 scripts/gen-conv-fixtures.py

Writes test/fixtures/conv/: <name>.keras, <name>.h5 and <name>.tfjs/ (model.json as
tensorflowjs_converter writes a Keras model, by scripts/gen_keras_models.py's writer) for each Keras
model, <name>.safetensors (a state dict with its lstm_runtime config in the metadata) and <name>.onnx
(torch.onnx.export(dynamo=False), opset 17, batch and time dynamic; onnxruntime checked to agree) for
each torch model, and golden.json ({ name: { input, output, formats } }).
"""
import json
import os
import shutil
import struct
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from gen_keras_models import keras2_topology  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "conv")
rng = np.random.default_rng(20261208)
L = keras.layers


def keras_models():
    # valid padding, relu, max pooling, BatchNorm, LSTM to its last step
    yield "conv_valid_bn", (3, 16, 3), keras.Sequential([
        keras.Input((16, 3)),
        L.Conv1D(8, 3, activation="relu"),
        L.MaxPooling1D(2),
        L.BatchNormalization(epsilon=1e-3),
        L.LSTM(6),
        L.Dense(2),
    ])
    # same padding with strides (uneven pads), average pooling with same padding, LayerNorm
    yield "conv_same_strides_ln", (2, 15, 4), keras.Sequential([
        keras.Input((15, 4)),
        L.Conv1D(6, 4, strides=2, padding="same"),
        L.AveragePooling1D(3, strides=2, padding="same"),
        L.LayerNormalization(),
        L.LSTM(5, return_sequences=True),
        L.Dense(3),
    ])
    # causal, dilated and grouped convolutions, both normalisations: the stream() model
    yield "conv_causal_stream", (2, 12, 4), keras.Sequential([
        keras.Input((12, 4)),
        L.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu"),
        L.Conv1D(6, 2, padding="causal", groups=2),
        L.BatchNormalization(),
        L.LayerNormalization(epsilon=1e-5),
        L.LSTM(6, return_sequences=True),
        L.Dense(2),
    ])
    # groups, max pooling with strides and same padding, MaxPool1D / AvgPool1D aliases, GRU
    yield "conv_groups_pool_gru", (2, 20, 6), keras.Sequential([
        keras.Input((20, 6)),
        L.Conv1D(9, 5, groups=3, activation="tanh"),
        L.MaxPool1D(3, strides=2, padding="same"),
        L.AvgPool1D(2),
        L.LayerNormalization(center=False),
        L.GRU(4),
        L.Dense(1, activation="sigmoid"),
    ])


def randomize(model):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            # gamma, beta, moving mean, moving variance (positive)
            ws = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if k in (0, 3) else rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for k, w in enumerate(ws)])
        else:
            layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])


def write_tfjs(model, folder):
    """model.json and one shard per layer, each weight named <layer>/<weight> as the converter does."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    manifest = []
    for k, layer in enumerate(model.layers):
        if not layer.weights:
            continue
        shard = f"group{k + 1}-shard1of1.bin"
        entries = []
        with open(os.path.join(folder, shard), "wb") as f:
            for v in layer.weights:
                w = np.asarray(v.numpy(), "<f4")
                f.write(w.tobytes())
                # Keras 3 variable names: kernel, bias, gamma, beta, moving_mean, moving_variance;
                # an RNN's cell weights as the converter names them
                name = v.name
                if isinstance(layer, (L.LSTM, L.GRU)):
                    name = f"{'lstm_cell' if isinstance(layer, L.LSTM) else 'gru_cell'}/{name}"
                entries.append({"name": f"{layer.name}/{name}", "shape": list(w.shape), "dtype": "float32"})
        manifest.append({"paths": [shard], "weights": entries})
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump({"format": "layers-model", "generatedBy": f"keras v{keras.__version__}", "convertedBy": "scripts/gen-conv-fixtures.py",
                   "modelTopology": keras2_topology(model), "weightsManifest": manifest}, f)


class TorchCnnLstm(torch.nn.Module):
    """x [B, T, C] (batch first) -> Conv1d (channels first inside) -> ReLU -> MaxPool1d -> BatchNorm1d
    -> LayerNorm -> LSTM -> Linear."""

    def __init__(self, c_in, spec):
        super().__init__()
        self.spec = spec
        self.conv = torch.nn.Conv1d(c_in, spec["filters"], spec["k"], stride=spec["stride"], padding=spec["padding"], dilation=spec["dilation"], groups=spec["groups"])
        self.pool = torch.nn.MaxPool1d(spec["pool"], stride=spec["pool_stride"]) if spec["pool"] else None
        self.avg = torch.nn.AvgPool1d(spec["avg"], stride=spec["avg"], padding=spec["avg_pad"]) if spec["avg"] else None
        self.bn = torch.nn.BatchNorm1d(spec["filters"])
        self.ln = torch.nn.LayerNorm(spec["filters"])
        self.lstm = torch.nn.LSTM(spec["filters"], 5, batch_first=True)
        self.head = torch.nn.Linear(5, 2)

    def forward(self, x):
        y = self.conv(x.transpose(1, 2))
        y = torch.relu(y)
        if self.pool:
            y = self.pool(y)
        if self.avg:
            y = self.avg(y)
        y = self.bn(y).transpose(1, 2)
        y = self.ln(y)
        out, _ = self.lstm(y)
        return self.head(out)


def torch_models():
    yield "torch_conv_bn_ln", (2, 17, 3), {"filters": 8, "k": 3, "stride": 1, "padding": 1, "dilation": 1, "groups": 1, "pool": 2, "pool_stride": 2, "avg": 0, "avg_pad": 0}
    yield "torch_conv_strided_groups", (2, 23, 4), {"filters": 6, "k": 4, "stride": 2, "padding": 2, "dilation": 2, "groups": 2, "pool": 0, "pool_stride": 0, "avg": 2, "avg_pad": 1}


def torch_config(spec):
    conv = {"module": "conv", "stride": spec["stride"], "padding": spec["padding"], "dilation": spec["dilation"], "groups": spec["groups"], "activation": "relu"}
    layers = [conv]
    if spec["pool"]:
        layers.append({"pool": "max", "kernelSize": spec["pool"], "stride": spec["pool_stride"]})
    if spec["avg"]:
        # nn.AvgPool1d counts the padding in the average (count_include_pad=True)
        layers.append({"pool": "average", "kernelSize": spec["avg"], "stride": spec["avg"], "padding": spec["avg_pad"], "countIncludePad": True})
    layers += [{"module": "bn"}, {"module": "ln"}, {"module": "lstm"}, {"module": "head"}]
    return {"layers": layers}


def save_file(state, path, metadata):
    """The safetensors format by hand (the package is not needed): u64 LE header length, JSON header, data.
    BatchNorm1d's num_batches_tracked is int64."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in state.items():
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().astype("<f4" if dtype == "F32" else "<i8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def onnx_front_end(name, conv_attrs=None, pool=None, transpose=True, pad=None):
    """A small graph x [batch, time, 3] -> Transpose -> Conv (-> MaxPool) -> Transpose, for the ONNX
    reader's checks; `conv_attrs` and `pool` make the ones it must refuse."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = rng.uniform(-0.5, 0.5, (4, 3, 3)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (4,)).astype(np.float32)
    nodes = []
    x = "x"
    if transpose:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]))
        x = "xt"
    if pad:
        # F.pad's zeros on the time axis before the Conv, as PyTorch exports a causal convolution
        nodes.append(helper.make_node("Pad", [x, "pads"], ["xp"], mode="constant"))
        x = "xp"
    nodes.append(helper.make_node("Conv", [x, "w", "b"], ["c"], kernel_shape=[3], **(conv_attrs or {"pads": [2, 0]})))
    last = "c"
    if pool:
        nodes.append(helper.make_node("MaxPool", ["c"], ["p"], **pool))
        last = "p"
    nodes.append(helper.make_node("Transpose", [last], ["y"], perm=[0, 2, 1]))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
                              + ([numpy_helper.from_array(np.array(pad, np.int64), "pads")] if pad else []))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(OUT, f"{name}.onnx"))
    return model


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    golden = {}
    for name, shape, model in keras_models():
        randomize(model)
        x = rng.uniform(-1.5, 1.5, shape).astype(np.float32)
        y = np.asarray(model.predict(x, verbose=0), np.float32)
        model.save(os.path.join(OUT, f"{name}.keras"))
        model.save(os.path.join(OUT, f"{name}.h5"))
        write_tfjs(model, os.path.join(OUT, f"{name}.tfjs"))
        golden[name] = {"input": x.tolist(), "output": y.tolist(), "formats": [".keras", ".h5", ".tfjs"], "framework": f"keras {keras.__version__}"}
    torch.manual_seed(20261208)
    for name, shape, spec in torch_models():
        model = TorchCnnLstm(shape[2], spec).eval()
        with torch.no_grad():
            model.bn.running_mean.uniform_(-0.5, 0.5)
            model.bn.running_var.uniform_(0.5, 1.5)
            model.bn.weight.uniform_(0.5, 1.5)
            model.bn.bias.uniform_(-0.5, 0.5)
            model.ln.weight.uniform_(0.5, 1.5)
            model.ln.bias.uniform_(-0.5, 0.5)
            x = torch.tensor(rng.uniform(-1.5, 1.5, shape).astype(np.float32))
            y = model(x).numpy()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(OUT, f"{name}.safetensors"), metadata={"lstm_runtime": json.dumps(torch_config(spec))})
        onnx_file = os.path.join(OUT, f"{name}.onnx")
        torch.onnx.export(model, (x,), onnx_file, dynamo=False, opset_version=17, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch", 1: "time"}, "y": {0: "batch", 1: "time"}})
        ort = onnxruntime.InferenceSession(onnx_file).run(None, {"x": x.numpy()})[0]
        assert np.allclose(ort, y, atol=1e-5), np.abs(ort - y).max()
        golden[name] = {"input": x.numpy().tolist(), "output": y.tolist(), "formats": [".safetensors", ".onnx"], "framework": f"torch {torch.__version__}"}
    # A Conv-only graph (a causal pad, then a MaxPool) with onnxruntime's output, and graphs to refuse.
    model = onnx_front_end("onnx_conv_pool", pool={"kernel_shape": [2], "strides": [2]})
    x = rng.uniform(-1.5, 1.5, (2, 9, 3)).astype(np.float32)
    y = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    golden["onnx_conv_pool"] = {"input": x.tolist(), "output": y.tolist(), "formats": [".onnx"], "framework": f"onnxruntime {onnxruntime.__version__}"}
    onnx_front_end("bad_conv_same_lower", conv_attrs={"auto_pad": "SAME_LOWER"})
    onnx_front_end("bad_conv_channels_last", transpose=False)
    onnx_front_end("bad_pool_ceil_mode", pool={"kernel_shape": [2], "strides": [2], "ceil_mode": 1})
    # Pad (zeros before the steps) then an unpadded Conv: a ZeroPadding1D and a Conv1D.
    model = onnx_front_end("onnx_pad_conv", conv_attrs={}, pad=[0, 0, 2, 0, 0, 1])
    x = rng.uniform(-1.5, 1.5, (2, 7, 3)).astype(np.float32)
    y = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    golden["onnx_pad_conv"] = {"input": x.tolist(), "output": y.tolist(), "formats": [".onnx"], "framework": f"onnxruntime {onnxruntime.__version__}"}
    onnx_front_end("bad_pad_channels", conv_attrs={}, pad=[0, 1, 0, 0, 0, 0])
    # Keras' ZeroPadding1D in front of a valid convolution.
    model = keras.Sequential([keras.Input((10, 3)), L.ZeroPadding1D((3, 1)), L.Conv1D(5, 4, activation="relu"), L.GRU(4, return_sequences=True), L.Dense(2)])
    randomize(model)
    x = rng.uniform(-1.5, 1.5, (2, 10, 3)).astype(np.float32)
    y = np.asarray(model.predict(x, verbose=0), np.float32)
    model.save(os.path.join(OUT, "conv_zero_padding.keras"))
    model.save(os.path.join(OUT, "conv_zero_padding.h5"))
    write_tfjs(model, os.path.join(OUT, "conv_zero_padding.tfjs"))
    golden["conv_zero_padding"] = {"input": x.tolist(), "output": y.tolist(), "formats": [".keras", ".h5", ".tfjs"], "framework": f"keras {keras.__version__}"}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
