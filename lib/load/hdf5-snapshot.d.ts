// Types of hdf5-snapshot.js (plain JavaScript: it is also a worker thread's entry).

export interface Hdf5Attribute {
  value?: unknown;
  /** Why HDF5 could not read it (a damaged file). */
  error?: string;
}

export interface Hdf5Node {
  kind: 'group' | 'dataset' | 'other' | 'error';
  /** '/', '/model_weights', '/model_weights/lstm/lstm/kernel:0', ... */
  path: string;
  attrs?: Record<string, Hdf5Attribute>;
  /** Why the attributes could not be listed. */
  attrsError?: string;
  /** Groups: their members by name. */
  children?: Record<string, Hdf5Node>;
  /** Datasets. */
  shape?: number[];
  dtype?: unknown;
  value?: unknown;
  /** Why this member or its values could not be read. */
  error?: string;
  /** kind 'other': what it is (a broken link, a named datatype, ...). */
  type?: string;
}

export type Hdf5Snapshot = { root: Hdf5Node; openError?: undefined } | { openError: string; root?: undefined };

export declare const WEB_WORKER_NAME: string;

export declare function snapshotHdf5(bytes: Uint8Array, valuesUnder: readonly string[]): Promise<Hdf5Snapshot>;
