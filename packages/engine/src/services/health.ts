import { health } from '@berth/api';
import { notFound } from '@berth/errdefs';
import { serverStream, unary, type GrpcServiceImpl } from '../grpc/service';

const { SERVING } = health.HealthCheckResponse_ServingStatus;

/**
 * grpc.health.v1: the whole server ('') is SERVING while berthd runs; named services are
 * NotFound (as the reference server answers for services it does not track). Watch sends the
 * status once and holds the stream until the client leaves.
 */
export function healthImpl(): GrpcServiceImpl<(typeof health.Health)['methods']> {
  const check = (service: string) => {
    if (service !== '') throw notFound(`health: unknown service "${service}"`);
    return { status: SERVING };
  };
  return {
    check: unary(async (req) => check(req.service)),
    watch: serverStream(async (req, ctx, send) => {
      await send(check(req.service));
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    }),
  };
}
