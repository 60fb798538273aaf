import { z } from 'zod';
import { DEFAULT_ODS_URL } from '../../connectors/opendatasoft/client.js';
import { pipelineConfig } from '../kit/settings.js';

export interface SynopSettings {
  /** OpenDataSoft portal: the public one unless a stand-in or mirror is named. */
  odsUrl: string;
  /**
   * Whether the user named the portal: only then do scheduled and catch-up runs reach it on their own (a
   * machine offline makes no request it was not asked for).
   */
  odsUrlConfigured: boolean;
  /** `mysql://…` URL where runs also write their staging rows (secret: may hold a password). */
  mysql: string | undefined;
}

/** `pipelines.synop` of `ecluse.config.json`. Empty strings count as unset, as they always did. */
export const synopConfig = pipelineConfig({
  name: 'synop',
  schema: z
    .object({
      ods_url: z.string().optional(),
      mysql: z
        .string()
        .refine((u) => u === '' || u.startsWith('mysql://'), 'expected a mysql://user:password@host:port/database URL')
        .optional(),
    })
    .strict(),
  env: [
    { name: 'ECLUSE_ODS_URL', key: 'ods_url', description: `OpenDataSoft portal (default ${DEFAULT_ODS_URL}); naming one lets the schedule reach it` },
    { name: 'ECLUSE_SYNOP_MYSQL', key: 'mysql', description: 'MySQL/MariaDB database runs also write their staging rows to (mysql://…)', secret: true },
  ],
  resolve: (s): SynopSettings => ({
    odsUrl: s.ods_url || DEFAULT_ODS_URL,
    odsUrlConfigured: Boolean(s.ods_url),
    mysql: s.mysql || undefined,
  }),
});
