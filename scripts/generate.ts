// Regenerates generated/ from the model files: `npm run generate`. A test fails when generated/ drifts.
import { writeModelModule } from '../src/cli/model-file.ts';

export const modelFiles: readonly [model: string, outDir: string][] = [
  ['examples/two_layer_net.ts', 'generated'],
  ['examples/lecture/add_mul.ts', 'generated/lecture'],
  ['examples/lecture/sigmoid_neuron.ts', 'generated/lecture'],
  ['examples/lecture/relu_vector.ts', 'generated/lecture'],
  ['examples/lecture/matmul.ts', 'generated/lecture'],
];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [model, out] of modelFiles) console.log(`wrote ${await writeModelModule(model, out)}`);
}
