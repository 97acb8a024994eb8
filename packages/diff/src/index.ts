export { createApplier } from './apply';
export type { ApplierOptions } from './apply';
export { createComparer } from './compare';
export type { ComparerOptions } from './compare';
export type { Applier, ApplyOptions, Comparer, CompareOptions } from './types';
