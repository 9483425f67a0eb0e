// The ALU IR's builders, as flatgrad exports them (`alu.mul(x, y)`): what a custom op computes is written with these.
export { abs, add, div, equal, exp, greater, greaterEqual, less, lessEqual, lit, log, log1p, max, min, mul, neg, pow, sqrt, sub, tanh, where } from './expr.ts';
