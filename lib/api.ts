// The public API shared by both entries (index.ts for Node, browser.ts for browsers and workers).
export { Lstm, LstmStream } from './lstm.js';
export type { LstmOptions, ForwardOptions, LstmResult, LstmTrace, LstmState } from './lstm.js';
export { LstmError } from './errors.js';
export type { LstmErrorCode } from './errors.js';
export { splitGates, WEIGHT_LAYOUTS } from './layouts.js';
export type { WeightLayout, LstmWeights, KerasWeights, Keras1Weights, PytorchWeights, OnnxWeights, GateWeights } from './layouts.js';
export type { Activation, ActivationName } from './activations.js';
export { backends, registerBackend } from './registry.js';
export type { BackendStatus } from './registry.js';
export type { BackendName } from './backend.js';
export { toNested } from './tensor.js';
export type { Tensor, TensorLike, NestedArray } from './tensor.js';
