// Benchmarks: `npm run bench -- <name>`. Each prints its figures next to a baseline measured in the same run.
const benches: Record<string, () => Promise<void>> = {
  stations: async () => (await import('./stations.js')).main(),
  api: async () => (await import('./api.js')).main(),
  postgres: async () => (await import('./postgres.js')).main(),
  orchestrator: async () => (await import('./orchestrator.js')).main(),
  synop: async () => (await import('./synop.js')).main(),
  eco2mix: async () => (await import('./eco2mix.js')).main(),
  cdc: async () => (await import('./cdc.js')).main(),
  rewards: async () => (await import('./rewards.js')).main(),
};

const name = process.argv[2];
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await bench();
