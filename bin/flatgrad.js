#!/usr/bin/env node
// flatgrad is written in TypeScript; tsx runs it (and the user's model files) without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
