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
/**
 * The MNIST convnet of examples/mnist_convnet.ts (its graph, trained here with SGD): x [N, 1, 28, 28] → conv 5×5 C1
 * → ReLU → 2×2 max pool → conv 5×5 C2 → ReLU → pool → dense H → ReLU → dense C, mean softmax cross-entropy.
 */
export const W4 = { N: 64, HW: 28, K: 5, C1: 16, C2: 32, H: 128, C: 10, lr: 0.01 } as const;
/**
 * The course's three-layer convnet on CIFAR-shaped input: x [N, 3, 32, 32] → conv F K×K, padding K/2 → ReLU → 2×2 max
 * pool → dense H → ReLU → dense C, mean softmax cross-entropy, SGD.
 */
export const W5 = { N: 50, C_in: 3, HW: 32, F: 32, K: 7, pad: 3, H: 100, C: 10, lr: 0.01 } as const;
/** One conv forward, a ResNet layer: x [N, C, HW, HW] with w [F, C, K, K], stride 1, padding 1, no bias. */
export const C1 = { N: 32, C: 64, HW: 56, F: 64, K: 3, pad: 1 } as const;
