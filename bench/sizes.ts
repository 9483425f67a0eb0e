// The benchmark workloads' sizes, apart from the compiler, so that the GPU machine's runner (scripts/gpu-machine/)
// can share them without bundling the compiler.

/** The lecture's two-layer net: h = σ(x·w1), y_pred = h·w2, loss = Σ (y_pred − y)², SGD. */
export const W1 = { N: 64, D_in: 1000, H: 100, D_out: 10, lr: 1e-4 } as const;
/** An MNIST-shaped MLP: scores = relu(x·w1 + b1)·w2 + b2, mean softmax cross-entropy over integer labels, SGD. */
export const W2 = { N: 128, D_in: 784, H: 256, C: 10, lr: 0.01 } as const;
/** A large MLP for the WebGPU target: N 1024, 784 → 2048 → 2048 → 10, ReLU, mean softmax cross-entropy, SGD. */
export const W3 = { N: 1024, D_in: 784, H: 2048, C: 10, lr: 0.01 } as const;
/** The square matmul the WebGPU target's throughput is judged on. */
export const MM_GPU = 2048;
