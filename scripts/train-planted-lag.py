"""Train the planted-lag forecaster in test/fixtures/planted-lag/: a model whose answer is known.

The series x is i.i.d. standard normal noise; the target of a window x[t-11 .. t] (12 steps, one
feature) is

    y_t = A * x[t - LAG_A] + B * x[t - LAG_B] + noise,   noise ~ N(0, NOISE_SD^2)

so only two steps of the window carry information: window indices 11 - LAG_A and 11 - LAG_B
(index 11 is x[t], the window's last step). Keras (jax backend) trains LSTM(16) -> Dense(1) until
the validation MSE is within 15% of the noise floor NOISE_SD^2, then saves examples/models/planted-lag.keras.

Check (the script stops if it fails): with jax gradients of the saved model on the 64 windows of
inputs.json, mean |gradient|, mean |gradient x input|, mean |integrated gradients| (Gauss-Legendre, 50
steps, baseline 0) and mean |occlusion| (window 1) over the windows put their two largest values
on exactly those two indices. The TS test asserts the same with lstm-runtime's attribute().

Run from the repository root (keras 3.15, jax 0.10, numpy):
    KERAS_BACKEND=jax python3 scripts/train-planted-lag.py
Fixed seeds; jax on CPU trains the same way each run (a few minutes on 2 cores).
"""

import json
import os
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"  # must precede the keras import

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "planted-lag"
# The model ships with the examples: `lstm-runtime serve` shows it when given no model.
MODEL_PATH = Path(__file__).resolve().parent.parent / "examples" / "models" / "planted-lag.keras"
WINDOW, UNITS = 12, 16
LAG_A, LAG_B = 2, 7  # steps back from the window's last step
A, B = 1.0, -0.8
NOISE_SD = 0.1
NOISE_FLOOR = round(NOISE_SD**2, 12)
TRAIN, VALIDATION, TEST = 40_000, 4_000, 64
MAX_EPOCHS = 80
SEED = 20261207
IG_STEPS = 50

IMPORTANT = sorted([WINDOW - 1 - LAG_A, WINDOW - 1 - LAG_B])


def windows(rng, n):
    """n windows of i.i.d. noise [n, WINDOW, 1] and their targets [n, 1]."""
    x = rng.standard_normal((n, WINDOW, 1)).astype(np.float32)
    signal = A * x[:, WINDOW - 1 - LAG_A, 0] + B * x[:, WINDOW - 1 - LAG_B, 0]
    y = signal + NOISE_SD * rng.standard_normal(n).astype(np.float32)
    return x, y[:, None].astype(np.float32)


class StopAtNoiseFloor(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1}: loss {logs['loss']:.5f} val_loss {logs['val_loss']:.5f} (noise floor {NOISE_FLOOR})")
        if logs["val_loss"] < 1.15 * NOISE_FLOOR:
            self.model.stop_training = True


def train():
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    x, y = windows(rng, TRAIN)
    xv, yv = windows(rng, VALIDATION)
    xt, yt = windows(rng, TEST)
    model = keras.Sequential([keras.Input((WINDOW, 1)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    history = model.fit(x, y, validation_data=(xv, yv), epochs=MAX_EPOCHS, batch_size=64, verbose=0,
                        callbacks=[StopAtNoiseFloor(), keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3)])
    return model, history.history, (xt, yt)


def attributions(model, x):
    """Per window step, the mean over the windows of |score| for each method (occlusion: window 1, baseline 0)."""
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def forecast(v):  # [N, WINDOW, 1] -> [N]: the model as a pure function of its input
        out, _ = model.stateless_call(trainable, fixed, v)
        return out[:, 0]

    grad = jax.grad(lambda v: forecast(v).sum())
    x = jnp.asarray(x)
    g = grad(x)
    gxi = np.asarray(g * x)
    nodes, weights = np.polynomial.legendre.leggauss(IG_STEPS)
    total = sum(0.5 * w * grad(0.5 * (1 + a) * x) for a, w in zip(nodes, weights))
    ig = np.asarray(total * x)
    reference = forecast(x)
    occlusion = np.stack([np.asarray(reference - forecast(x.at[:, t, :].set(0.0))) for t in range(WINDOW)], axis=1)
    mean = lambda a: np.abs(a).reshape(len(x), WINDOW).mean(axis=0)  # noqa: E731
    return {"gradient": mean(np.asarray(g)), "gradient-x-input": mean(gxi), "integrated-gradients": mean(ig), "occlusion": mean(occlusion)}


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    model, history, (xt, yt) = train()
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    path = MODEL_PATH
    model.save(path)
    model = keras.saving.load_model(path)  # check what was written, not what is in memory

    prediction = np.asarray(model.predict(xt, verbose=0))
    test_mse = float(np.mean((prediction - yt) ** 2))
    val_mse = float(history["val_loss"][-1])
    assert val_mse < 1.15 * NOISE_FLOOR, f"validation MSE {val_mse} not near the noise floor {NOISE_FLOOR}"

    means = attributions(model, xt)
    for method, m in means.items():
        top = sorted(np.argsort(m)[-2:].tolist())
        assert top == IMPORTANT, f"{method}: largest mean |score| at {top}, planted at {IMPORTANT}: {m}"
        third = np.sort(m)[-3]
        print(f"{method}: top two at {top}; mean |score| there {[round(float(v), 3) for v in m[top]]}, next largest {third:.3f}")

    doc = {
        "source": "scripts/train-planted-lag.py: i.i.d. N(0, 1) series; y_t = "
                  f"{A} * x[t-{LAG_A}] + {B} * x[t-{LAG_B}] + N(0, {NOISE_SD}^2); "
                  f"Keras LSTM({UNITS}) -> Dense(1) on windows of {WINDOW} steps (index {WINDOW - 1} = x[t])",
        "lags": [LAG_A, LAG_B],
        "stepIndices": [WINDOW - 1 - LAG_A, WINDOW - 1 - LAG_B],
        "input": {"data": [float(str(v)) for v in xt.ravel()], "shape": list(xt.shape)},
        "target": {"data": [float(str(v)) for v in yt.ravel()], "shape": list(yt.shape)},
        "output": {"data": [float(str(v)) for v in prediction.astype(np.float32).ravel()], "shape": list(prediction.shape)},
        "meanAbsScores": {k: [round(float(v), 6) for v in m] for k, m in means.items()},
        "training": {"epochs": len(history["loss"]), "trainMse": round(float(history["loss"][-1]), 6),
                     "validationMse": round(val_mse, 6), "testMse": round(test_mse, 6), "noiseFloor": NOISE_FLOOR,
                     "keras": keras.__version__, "jax": jax.__version__},
    }
    (OUT_DIR / "inputs.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"epochs {len(history['loss'])}, validation MSE {val_mse:.5f}, test MSE on the 64 windows {test_mse:.5f}, "
          f"noise floor {NOISE_FLOOR}; planted-lag.keras {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
