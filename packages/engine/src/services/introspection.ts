import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { introspectionService, type types } from '@berth/api';
import { parseFilters } from '@berth/spec';
import { unary, type GrpcServiceImpl } from '../grpc/service';

/** A plugin as Introspection lists it (containerd's type/id naming, so `ctr plugins ls` reads well). */
export interface PluginInfo {
  type: string;
  id: string;
  requires?: string[];
  capabilities?: string[];
  exports?: Record<string, string>;
}

const PLATFORM: types.Platform = { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch, variant: '' };

/**
 * Introspection: the plugins berthd runs (filterable with containerd filters over type, id,
 * capabilities) and a server UUID kept in `<root>/uuid` so it is stable across restarts.
 */
export function introspectionImpl(root: string, plugins: () => PluginInfo[]): GrpcServiceImpl<(typeof introspectionService.Introspection)['methods']> {
  const uuidPath = join(root, 'uuid');
  let uuid: string | undefined;
  return {
    plugins: unary(async (req) => {
      const filter = parseFilters(...req.filters);
      const list = plugins().filter((p) =>
        filter.match({
          field: ([field, ...rest]) => {
            if (rest.length > 0) return undefined;
            if (field === 'type') return p.type;
            if (field === 'id') return p.id;
            if (field === 'capabilities') return (p.capabilities ?? []).join(',');
            return undefined;
          },
        }),
      );
      return {
        plugins: list.map((p) => ({
          type: p.type,
          id: p.id,
          requires: p.requires ?? [],
          platforms: [PLATFORM],
          exports: p.exports ?? {},
          capabilities: p.capabilities ?? [],
        })),
      };
    }),
    server: unary(async () => {
      if (uuid === undefined) {
        if (existsSync(uuidPath)) uuid = readFileSync(uuidPath, 'utf8').trim();
        if (!uuid) {
          uuid = randomUUID();
          writeFileSync(uuidPath, `${uuid}\n`, { mode: 0o644 });
        }
      }
      return { uuid };
    }),
  };
}
