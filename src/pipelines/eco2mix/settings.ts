import { z } from 'zod';
import { pipelineConfig } from '../kit/settings.js';

/** ODRE, where RTE publishes eCO2mix. */
const DEFAULT_ECO2MIX_URL = 'https://odre.opendatasoft.com';

export interface Eco2mixSettings {
  /** The OpenDataSoft portal of the eCO2mix datasets: ODRE unless a stand-in or mirror is named. */
  url: string;
  /** Whether the user named the portal: only then do scheduled runs reach it on their own. */
  urlConfigured: boolean;
}

/** `pipelines.eco2mix` of `ecluse.config.json`. */
export const eco2mixConfig = pipelineConfig({
  name: 'eco2mix',
  schema: z.object({ url: z.string().url().optional() }).strict(),
  env: [
    {
      name: 'ECLUSE_ECO2MIX_URL',
      key: 'url',
      description: `OpenDataSoft portal of eCO2mix (default ${DEFAULT_ECO2MIX_URL}); naming one lets the schedules reach it`,
    },
  ],
  resolve: (s): Eco2mixSettings => ({ url: s.url || DEFAULT_ECO2MIX_URL, urlConfigured: Boolean(s.url) }),
});
