import { versionService } from '@berth/api';
import { unary, type GrpcServiceImpl } from '../grpc/service';

/**
 * What Version reports: containerd's API level as the release (clients gate features on it;
 * build metadata is ignored by semver comparisons) and berth's own version as the revision.
 */
export const BERTH_VERSION = '0.1.0';
export const API_VERSION = `1.6.20+berth.${BERTH_VERSION}`;

export function versionImpl(): GrpcServiceImpl<(typeof versionService.Version)['methods']> {
  return { version: unary(async () => ({ version: API_VERSION, revision: `berth-${BERTH_VERSION}` })) };
}
