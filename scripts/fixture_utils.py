"""Helpers shared by the fixture generators in this folder."""
import numpy as np


def f32(a):
    """Nested lists of floats that round-trip exactly to the float32 values."""
    a = np.asarray(a, dtype=np.float32)
    flat = [float(str(v)) for v in a.ravel()]
    assert np.array_equal(np.array(flat, dtype=np.float32), a.ravel())
    return np.array(flat, dtype=object).reshape(a.shape).tolist()
