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
    """The first step's loss, and Σ|C| for the products: the numbers compared with flatgrad's."""
    out = {}
    for wid, fn in tasks.items():
        r = fn()
        if wid.startswith("mm"):
            r = np.asarray(r.detach() if torch is not None and isinstance(r, torch.Tensor) else r, dtype=np.float64)
            r = float(np.abs(r).sum())
        out[wid] = r
    return out


def stat(samples):
    s = sorted(samples)
    med = float(np.median(s))
    return {"median": med, "mad": float(np.median([abs(v - med) for v in s])), "samples": len(s)}


def measure(rows, workloads, time_ms, rounds, min_iterations):
    pooled = {name: {w: [] for w in workloads} for name in rows}
    names = list(rows)
    budget = time_ms / rounds / 1000
    for r in range(rounds):
        for wid in workloads:
            for name in names[r % len(names):] + names[: r % len(names)]:
                fn = rows[name][wid]
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


def blas():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return ("%s %s" % (cfg.get("name", "?"), cfg.get("version", ""))).strip()
    except Exception:  # older numpy: no dicts mode
        return "BLAS unknown"


def main():
    data_dir, time_ms, rounds, min_iterations = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    manifest, arrays = load(data_dir)
    workloads = ["w1", "w2"] + ["mm%d" % n for n in manifest["matmul"]]
    rows, info = {}, {}
    name = "NumPy %s (%s, %d thread%s, hand-written backward)" % (np.__version__, blas(), THREADS, "" if THREADS == 1 else "s")
    rows[name] = numpy_tasks(manifest, arrays)
    if torch is not None and THREADS == 1:
        tname = "PyTorch %s (1 thread, autograd)" % torch.__version__
        rows[tname] = torch_tasks(manifest, arrays)
    info = {n: checks(t) for n, t in rows.items()}
    results = measure(rows, workloads, time_ms, rounds, min_iterations)
    out = {
        "python": sys.version.split()[0],
        "rows": [{"name": n, "checks": info[n], "results": results[n]} for n in rows],
        "missing": [] if torch is not None else ["PyTorch"],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
