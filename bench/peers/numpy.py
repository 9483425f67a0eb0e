"""NumPy (and PyTorch, when installed) rows of the peer benchmarks, run as a subprocess by bench/peers/numpy.ts.

    python3 bench/peers/numpy.py DATA_DIR TIME_MS ROUNDS MIN_ITERATIONS [THREADS]

DATA_DIR holds manifest.json and the shared arrays as raw little-endian files, written by bench/peers/numpy.ts, so every
peer starts from the same data and weights. Timing mirrors bench/measure.ts: short rounds, rows interleaved and
rotated, time.perf_counter per step, medians and MADs (median absolute deviation) of the pooled samples in ms.
Prints one JSON object on stdout. THREADS (default 1) is the BLAS's threads: the BLAS thread variables are set
before numpy is imported (bench/peers/numpy.ts sets them too). PyTorch runs only with one thread.
"""
import json
import os
import sys
import time

# This file is named numpy.py: drop its own folder from the path, or `import numpy` would import this script again.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

THREADS = int(sys.argv[5]) if len(sys.argv) > 5 else 1
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None


def load(data_dir):
    with open(os.path.join(data_dir, "manifest.json")) as f:
        manifest = json.load(f)
    arrays = {}
    for name, (dtype, shape) in manifest["arrays"].items():
        arrays[name] = np.fromfile(os.path.join(data_dir, name + ".bin"), dtype="<f4" if dtype == "f32" else "<i4").reshape(shape)
    return manifest, arrays


def numpy_tasks(m, a):
    """The lecture's numpy, forward and backward by hand, in float32."""
    tasks = {}

    x, y = a["w1.x"], a["w1.y"]
    p1 = {"w1": a["w1.w1"].copy(), "w2": a["w1.w2"].copy()}
    lr1 = np.float32(m["w1"]["lr"])

    def w1_step():
        w1, w2 = p1["w1"], p1["w2"]
        with np.errstate(over="ignore"):  # e^-z overflows to inf below z = -88: sigmoid is then 0, as it should be
            h = 1 / (1 + np.exp(-x.dot(w1)))
        d = h.dot(w2) - y
        loss = np.square(d).sum()
        grad_y_pred = 2 * d
        grad_w2 = h.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_w1 = x.T.dot(grad_h * h * (1 - h))
        w1 -= lr1 * grad_w1
        w2 -= lr1 * grad_w2
        return float(loss)

    tasks["w1"] = w1_step

    x2, labels = a["w2.x"], a["w2.labels"]
    p2 = {k: a["w2." + k].copy() for k in ("w1", "b1", "w2", "b2")}
    lr2 = np.float32(m["w2"]["lr"])
    n = x2.shape[0]
    rows = np.arange(n)

    def w2_step():
        w1, b1, w2, b2 = p2["w1"], p2["b1"], p2["w2"], p2["b2"]
        z = x2.dot(w1) + b1
        h = np.maximum(z, 0)
        s = h.dot(w2) + b2
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        loss = -(s[rows, labels] - np.log(sum_e[:, 0])).mean()
        ds = e / sum_e
        ds[rows, labels] -= 1
        ds /= n
        grad_w2 = h.T.dot(ds)
        grad_b2 = ds.sum(axis=0)
        dh = ds.dot(w2.T)
        dh[z <= 0] = 0
        grad_w1 = x2.T.dot(dh)
        grad_b1 = dh.sum(axis=0)
        w1 -= lr2 * grad_w1
        b1 -= lr2 * grad_b1
        w2 -= lr2 * grad_w2
        b2 -= lr2 * grad_b2
        return float(loss)

    tasks["w2"] = w2_step

    for size in m["matmul"]:
        ma, mb = a["mm%d.a" % size], a["mm%d.b" % size]
        tasks["mm%d" % size] = (lambda ma=ma, mb=mb: ma.dot(mb))
    return tasks


# The convnets as the course's fast layers write them: a conv is a strided view of the padded input copied into
# im2col columns, then one BLAS matmul (conv_forward_strides); its backward two more matmuls, and col2im summing the
# columns' gradient back into the input (the course does that in Cython; here a NumPy loop over the kernel's taps).
# 2×2 max pooling by reshaping (max_pool_forward_reshape / max_pool_backward_reshape).


def conv_forward_strides(x, w, b, pad):
    """x [N, C, H, W], w [F, C, HH, WW], stride 1: (out [N, F, Ho, Wo], the columns [C·HH·WW, N·Ho·Wo])."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x)
    H, W = H + 2 * pad, W + 2 * pad
    Ho, Wo = H - HH + 1, W - WW + 1
    strides = xp.itemsize * np.array((H * W, W, 1, C * H * W, W, 1))
    cols = np.ascontiguousarray(as_strided(xp, shape=(C, HH, WW, N, Ho, Wo), strides=strides))
    cols.shape = (C * HH * WW, N * Ho * Wo)
    res = w.reshape(F, -1).dot(cols)
    if b is not None:
        res += b.reshape(-1, 1)
    res.shape = (F, N, Ho, Wo)
    return np.ascontiguousarray(res.transpose(1, 0, 2, 3)), cols


def conv_backward_strides(dout, x_shape, w, cols, pad, need_dx=True):
    """(dx or None, dw, db) of conv_forward_strides."""
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    dout_r = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = dout_r.dot(cols.T).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    if not need_dx:  # the first layer's input: nobody reads its gradient
        return None, dw, db
    dcols = w.reshape(F, -1).T.dot(dout_r)
    dcols.shape = (C, HH, WW, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + Ho, j:j + Wo] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def max_pool_forward_reshape(x):
    """2×2, stride 2: (out, the reshaped x)."""
    N, C, H, W = x.shape
    xr = x.reshape(N, C, H // 2, 2, W // 2, 2)
    return xr.max(axis=3).max(axis=4), xr


def max_pool_backward_reshape(dout, xr, out):
    """The course's: each window's gradient to its maximum (split evenly among ties)."""
    dxr = np.zeros_like(xr)
    mask = xr == out[:, :, :, np.newaxis, :, np.newaxis]
    dout_b, _ = np.broadcast_arrays(dout[:, :, :, np.newaxis, :, np.newaxis], dxr)
    dxr[mask] = dout_b[mask]
    dxr /= np.sum(mask, axis=(3, 5), keepdims=True)
    N, C, H2, _, W2, _ = xr.shape
    return dxr.reshape(N, C, 2 * H2, 2 * W2)


def softmax_loss(s, labels):
    """Mean softmax cross-entropy of scores s [N, C] and its gradient, as W2's step computes them."""
    n = s.shape[0]
    rows = np.arange(n)
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    sum_e = e.sum(axis=1, keepdims=True)
    loss = -(s[rows, labels] - np.log(sum_e[:, 0])).mean()
    ds = e / sum_e
    ds[rows, labels] -= 1
    ds /= n
    return loss, ds


def conv_relu_pool_forward(x, w, b, pad):
    z, cols = conv_forward_strides(x, w, b, pad)
    a = np.maximum(z, 0)
    h, r = max_pool_forward_reshape(a)
    return h, (x.shape, w, cols, pad, z, r, h)


def conv_relu_pool_backward(dh, cache, need_dx=True):
    x_shape, w, cols, pad, z, r, h = cache
    da = max_pool_backward_reshape(dh, r, h)
    da[z <= 0] = 0
    return conv_backward_strides(da, x_shape, w, cols, pad, need_dx)


def affine_relu_backward(dout, x, w, z):
    """For h = relu(x·w + b) with z = x·w + b: (dx, dw, db)."""
    dz = dout.copy()
    dz[z <= 0] = 0
    return dz.dot(w.T), x.T.dot(dz), dz.sum(axis=0)


def numpy_conv_tasks(m, a):
    """W4 and W5 steps (forward and backward by hand, float32, SGD) and C1 (one conv forward)."""
    tasks = {}

    x4, labels4 = a["w4.x"], a["w4.labels"]
    p4 = {k: a["w4." + k].copy() for k in ("conv1", "bias1", "conv2", "bias2", "w3", "b3", "w4", "b4")}
    lr4 = np.float32(m["w4"]["lr"])

    def w4_step():
        p = p4
        h1, c1 = conv_relu_pool_forward(x4, p["conv1"], p["bias1"], 0)
        h2, c2 = conv_relu_pool_forward(h1, p["conv2"], p["bias2"], 0)
        f = h2.reshape(h2.shape[0], -1)
        z3 = f.dot(p["w3"]) + p["b3"]
        h3 = np.maximum(z3, 0)
        loss, ds = softmax_loss(h3.dot(p["w4"]) + p["b4"], labels4)
        g = {"w4": h3.T.dot(ds), "b4": ds.sum(axis=0)}
        df, g["w3"], g["b3"] = affine_relu_backward(ds.dot(p["w4"].T), f, p["w3"], z3)
        dh1, g["conv2"], g["bias2"] = conv_relu_pool_backward(df.reshape(h2.shape), c2)
        _, g["conv1"], g["bias1"] = conv_relu_pool_backward(dh1, c1, need_dx=False)
        for k, v in g.items():
            p[k] -= lr4 * v
        return float(loss)

    tasks["w4"] = w4_step

    x5, labels5 = a["w5.x"], a["w5.labels"]
    p5 = {k: a["w5." + k].copy() for k in ("w1", "b1", "w2", "b2", "w3", "b3")}
    lr5, pad5 = np.float32(m["w5"]["lr"]), m["w5"]["pad"]

    def w5_step():
        p = p5
        h1, c1 = conv_relu_pool_forward(x5, p["w1"], p["b1"], pad5)
        f = h1.reshape(h1.shape[0], -1)
        z2 = f.dot(p["w2"]) + p["b2"]
        h2 = np.maximum(z2, 0)
        loss, ds = softmax_loss(h2.dot(p["w3"]) + p["b3"], labels5)
        g = {"w3": h2.T.dot(ds), "b3": ds.sum(axis=0)}
        df, g["w2"], g["b2"] = affine_relu_backward(ds.dot(p["w3"].T), f, p["w2"], z2)
        _, g["w1"], g["b1"] = conv_relu_pool_backward(df.reshape(h1.shape), c1, need_dx=False)
        for k, v in g.items():
            p[k] -= lr5 * v
        return float(loss)

    tasks["w5"] = w5_step

    xc, wc, padc = a["c1.x"], a["c1.w"], m["c1"]["pad"]
    tasks["c1"] = lambda: conv_forward_strides(xc, wc, None, padc)[0]
    return tasks


def torch_tasks(m, a):
    """PyTorch autograd, float32, one thread, SGD by hand."""
    torch.set_num_threads(1)
    t = lambda v, grad=False: torch.tensor(v.copy(), dtype=torch.float32, requires_grad=grad)  # noqa: E731
    tasks = {}

    x, y = t(a["w1.x"]), t(a["w1.y"])
    p1 = [t(a["w1.w1"], True), t(a["w1.w2"], True)]
    lr1 = m["w1"]["lr"]

    def w1_step():
        w1, w2 = p1
        loss = (torch.sigmoid(x @ w1) @ w2 - y).square().sum()
        loss.backward()
        with torch.no_grad():
            for p in p1:
                p -= lr1 * p.grad
                p.grad = None
        return loss.item()

    tasks["w1"] = w1_step

    x2 = t(a["w2.x"])
    labels = torch.tensor(a["w2.labels"].astype(np.int64))
    p2 = [t(a["w2." + k], True) for k in ("w1", "b1", "w2", "b2")]
    lr2 = m["w2"]["lr"]

    def w2_step():
        w1, b1, w2, b2 = p2
        scores = torch.relu(x2 @ w1 + b1) @ w2 + b2
        loss = torch.nn.functional.cross_entropy(scores, labels)  # mean over N
        loss.backward()
        with torch.no_grad():
            for p in p2:
                p -= lr2 * p.grad
                p.grad = None
        return loss.item()

    tasks["w2"] = w2_step

    for size in m["matmul"]:
        ma, mb = t(a["mm%d.a" % size]), t(a["mm%d.b" % size])
        tasks["mm%d" % size] = (lambda ma=ma, mb=mb: ma @ mb)
    return tasks


def checks(tasks):
    """The first step's loss, and Σ|C| for the products (Σ|Y| for C1): the numbers compared with flatgrad's."""
    out = {}
    for wid, fn in tasks.items():
        r = fn()
        if wid.startswith("mm") or wid == "c1":
            r = np.asarray(r.detach() if torch is not None and isinstance(r, torch.Tensor) else r, dtype=np.float64)
            r = float(np.abs(r).sum())
        out[wid] = r
    return out


def seconds(tasks):
    """The conv steps' second losses (call after checks()): after one SGD update, they check the gradients too."""
    return {wid: tasks[wid]() for wid in ("w4", "w5") if wid in tasks}


def stat(samples):
    s = sorted(samples)
    med = float(np.median(s))
    return {"median": med, "mad": float(np.median([abs(v - med) for v in s])), "samples": len(s)}


def measure(rows, workloads, time_ms, rounds, min_iterations):
    pooled = {name: {w: [] for w in workloads if w in rows[name]} for name in rows}
    names = list(rows)
    budget = time_ms / rounds / 1000
    for r in range(rounds):
        for wid in workloads:
            for name in names[r % len(names):] + names[: r % len(names)]:
                fn = rows[name].get(wid)
                if fn is None:  # a row without this workload (PyTorch has no conv tasks)
                    continue
                if r == 0:  # warmup
                    start, k = time.perf_counter(), 0
                    while k < 2 or time.perf_counter() - start < 0.3:
                        fn()
                        k += 1
                samples, start = [], time.perf_counter()
                while len(samples) < min_iterations or time.perf_counter() - start < budget:
                    t0 = time.perf_counter()
                    fn()
                    samples.append((time.perf_counter() - t0) * 1000)
                pooled[name][wid] += samples
    return {name: {w: stat(s) for w, s in by.items()} for name, by in pooled.items()}


CONV = ("w4", "w5", "c1")


def blas():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return ("%s %s" % (cfg.get("name", "?"), cfg.get("version", ""))).strip()
    except Exception:  # older numpy: no dicts mode
        return "BLAS unknown"


def main():
    data_dir, time_ms, rounds, min_iterations = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    manifest, arrays = load(data_dir)
    workloads = manifest.get("workloads", ["w1", "w2"] + ["mm%d" % n for n in manifest["matmul"]])
    base, conv = [w for w in workloads if w not in CONV], [w for w in workloads if w in CONV]
    rows, info = {}, {}
    name = "NumPy %s (%s, %d thread%s, hand-written backward)" % (np.__version__, blas(), THREADS, "" if THREADS == 1 else "s")
    rows[name] = {**(numpy_tasks(manifest, arrays) if base else {}), **(numpy_conv_tasks(manifest, arrays) if conv else {})}
    if torch is not None and THREADS == 1 and base:
        tname = "PyTorch %s (1 thread, autograd)" % torch.__version__
        rows[tname] = torch_tasks(manifest, arrays)
    info = {n: checks(t) for n, t in rows.items()}
    second = {n: seconds(t) for n, t in rows.items()}
    results = measure(rows, workloads, time_ms, rounds, min_iterations)
    out = {
        "python": sys.version.split()[0],
        "rows": [{"name": n, "checks": info[n], "seconds": second[n], "results": results[n]} for n in rows],
        "missing": [] if torch is not None else ["PyTorch"],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
