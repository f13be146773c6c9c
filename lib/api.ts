// The public API shared by both entries (index.ts for Node, browser.ts for browsers and workers).
export { Lstm } from './lstm.js';
export type { LstmOptions, ForwardOptions, LstmResult, LstmTrace, LstmState, LstmStream } from './lstm.js';
export { Gru } from './gru.js';
export type { GruOptions, GruForwardOptions, GruResult, GruTrace, GruState, GruStream } from './gru.js';
export { RecurrentLayer, RecurrentStream } from './recurrent.js';
export type { RecurrentOptions, RecurrentState, RecurrentResult } from './recurrent.js';
export { LstmError } from './errors.js';
export type { LstmErrorCode } from './errors.js';
export { splitGates, WEIGHT_LAYOUTS } from './layouts.js';
export type { WeightLayout, LstmWeights, GruWeights, KerasWeights, Keras1Weights, PytorchWeights, OnnxWeights, GateWeights } from './layouts.js';
export type { Activation, ActivationName } from './activations.js';
export { backends, registerBackend } from './registry.js';
export type { BackendStatus } from './registry.js';
export type { BackendName, Backend } from './backend.js';
export { toNested } from './tensor.js';
export type { Tensor, TensorLike, NestedArray } from './tensor.js';
