import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isRawMetaKey, ZONES, type Zone } from '../../lake/layout.js';
import type { ServerContext } from '../context.js';

/**
 * GET /lake/zones and /lake/files: browse the lake's zones for the dashboard's Lake page.
 * Raw files with their original names and received times are `/raw/files`; these list what is
 * actually stored, zone by zone, with sizes, including staging and curated Parquet partitions.
 */

const LakeObject = Type.Object({
  key: Type.String(),
  size: Type.Integer({ description: 'bytes' }),
  modified_at: Type.String({ description: 'ISO UTC' }),
  sha256: Type.Union([Type.String(), Type.Null()], { description: 'raw zone: the content hash the key is named by; else null' }),
});

/** Raw keys end `<HHMMSSmmm>-<sha256>.<ext>` (lake/layout rawKey). */
const RAW_HASH = /-([0-9a-f]{64})(\.[^/]*)?$/;

export async function lakeRoutes(app: FastifyInstance, { platform }: ServerContext): Promise<void> {
  const { lake } = platform;
  // The sidecars are bookkeeping, not files a user put in the lake.
  const listZone = async (zone: Zone) => (await lake.list(`${zone}/`)).filter((o) => !isRawMetaKey(o.key));

  app.get(
    '/lake/zones',
    {
      schema: {
        summary: 'The lake’s zones (raw, staging, curated) with their object count and total size',
        tags: ['lake'],
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ zone: Type.String(), objects: Type.Integer(), bytes: Type.Integer() })),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            location: Type.String(),
          }),
        },
      },
    },
    async () => {
      const items = [];
      for (const zone of ZONES) {
        const objects = await listZone(zone);
        items.push({ zone, objects: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0) });
      }
      return { items, total: items.length, limit: items.length, offset: 0, location: lake.location };
    },
  );

  app.get(
    '/lake/files',
    {
      schema: {
        summary: 'Objects of one zone of the lake, by key; `prefix` narrows to a folder inside the zone',
        tags: ['lake'],
        querystring: Type.Object({
          zone: Type.Union(ZONES.map((z) => Type.Literal(z))),
          prefix: Type.Optional(Type.String({ description: 'path inside the zone, e.g. "stations/"' })),
          limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
        response: { 200: Type.Object({ items: Type.Array(LakeObject), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }) },
      },
    },
    async (request) => {
      const q = request.query as { zone: Zone; prefix?: string; limit: number; offset: number };
      const inside = q.prefix ? `${q.zone}/${q.prefix.replace(/^\/+/, '')}` : `${q.zone}/`;
      const all = (await listZone(q.zone)).filter((o) => o.key.startsWith(inside));
      const items = all.slice(q.offset, q.offset + q.limit).map((o) => ({
        key: o.key,
        size: o.size,
        modified_at: o.modifiedAt.toISOString(),
        sha256: q.zone === 'raw' ? (RAW_HASH.exec(o.key)?.[1] ?? null) : null,
      }));
      return { items, total: all.length, limit: q.limit, offset: q.offset };
    },
  );
}
