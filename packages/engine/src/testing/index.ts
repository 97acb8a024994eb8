/**
 * Test helpers for berthd's services, exported as `@berth/engine/testing` (for the tests of
 * other workspace packages; not part of the public index): a server on a
 * temp root with chosen services (`startTestEngine`), the real `ctr` (`ctr`, `runCtr`,
 * `ctrTable`), and a typed gRPC client over any service definition (`createGrpcClient`).
 */
export { startTestEngine } from './engine';
export type { TestEngine, TestEngineOptions } from './engine';
export { CTR, CtrError, ctr, ctrTable, hasCtr, runCtr } from './ctr';
export type { CtrResult } from './ctr';
export { createGrpcClient } from './grpc-client';
export type { BidiCall, BidiFn, CallOptions, ClientStreamFn, GrpcClient, ServerStreamFn, UnaryFn } from './grpc-client';
export { rejection, rejectionKind, thrown } from './errors';
export { containerdMissing, startContainerd, startCtrDaemon, unmountUnder } from './containerd';
export type { Containerd, CtrDaemon } from './containerd';
