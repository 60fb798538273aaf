/**
 * The layers of the code, checked by `npm run layers` (part of `npm test`).
 * Imports point downwards only: base < connectors < pipelines < orchestrator < server, cli; web apart.
 * Type-only imports count too: a type from an upper layer ties the lower one to it all the same.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** The base: storage, engine, warehouse, streams, change capture, checks, metrics and logs, configuration. */
const BASE = '^src/(lake|engine|warehouse|stream|cdc|quality|observability|config)/';

/** A path as an anchored regular expression. */
const exactly = (path) => `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

/**
 * A rule, less the arrows `exceptions` lists (module → the modules it may still import): the listed
 * modules are left out of the rule, and a rule of their own holds each to exactly its listed targets, so
 * no new arrow slips in beside a tolerated one.
 */
function withExceptions(rule, exceptions) {
  const modules = Object.keys(exceptions);
  return [
    { ...rule, from: { ...rule.from, pathNot: modules.map(exactly) } },
    ...modules.map((module) => ({
      ...rule,
      name: `${rule.name}:${module}`,
      comment: `${rule.comment} Tolerated for now: ${module} → ${exceptions[module].join(', ')}.`,
      from: { path: exactly(module) },
      to: { ...rule.to, pathNot: exceptions[module].map(exactly) },
    })),
  ];
}

export default {
  forbidden: [
    {
      name: 'base-knows-no-upper-layer',
      comment:
        'The base (lake, engine, warehouse, stream, cdc, quality, observability, config) knows no connector, no pipeline, no orchestrator, no server and no CLI.',
      severity: 'error',
      from: { path: BASE },
      to: { path: '^src/(connectors|pipelines|orchestrator|server|cli)/' },
    },
    {
      name: 'connectors-know-only-the-base',
      comment:
        'A connector knows its source and the base, never a pipeline (mapping a source to a pipeline model is the pipeline’s job), nor the orchestrator, the server or the CLI.',
      severity: 'error',
      from: { path: '^src/connectors/' },
      to: { path: '^src/(pipelines|orchestrator|server|cli)/' },
    },
    {
      name: 'pipelines-know-no-face',
      comment: 'A pipeline knows connectors and the base, never the server or the CLI: it declares its routes and pages as data and the server mounts them.',
      severity: 'error',
      from: { path: '^src/pipelines/' },
      to: { path: '^src/(server|cli)/' },
    },
    ...withExceptions(
      {
        name: 'pipelines-know-no-orchestrator',
        comment: 'A pipeline knows connectors and the base, never the orchestrator: the orchestrator runs pipelines, not the other way round.',
        severity: 'error',
        from: { path: '^src/pipelines/' },
        to: { path: '^src/orchestrator/' },
      },
      // Removed when the pipeline kit lands.
      {
        'src/pipelines/index.ts': ['src/orchestrator/pipeline.ts'],
        'src/pipelines/stations/pipeline.ts': ['src/orchestrator/pipeline.ts', 'src/orchestrator/rawInputs.ts'],
        'src/pipelines/stations/routes.ts': ['src/orchestrator/routeSpec.ts'],
        'src/pipelines/stations/sources.ts': ['src/orchestrator/pipeline.ts'],
        'src/pipelines/synop/odsSource.ts': ['src/orchestrator/partitions.ts', 'src/orchestrator/pipeline.ts'],
        'src/pipelines/synop/pipeline.ts': ['src/orchestrator/pipeline.ts', 'src/orchestrator/rawInputs.ts'],
        'src/pipelines/synop/routes.ts': ['src/orchestrator/routeSpec.ts'],
        'src/pipelines/synop/stage.ts': ['src/orchestrator/pipeline.ts', 'src/orchestrator/rawInputs.ts'],
      },
    ),
    {
      name: 'orchestrator-runs-pipelines-through-their-interface',
      comment:
        'The orchestrator runs pipelines through their declared interface: it reaches into no pipeline’s folder, and knows neither the server nor the CLI.',
      severity: 'error',
      from: { path: '^src/orchestrator/' },
      to: { path: ['^src/pipelines/[^/]+/', '^src/(server|cli)/'] },
    },
    ...withExceptions(
      {
        name: 'faces-reach-pipelines-through-the-registry',
        comment:
          'The server and the CLI are thin faces over the orchestrator and the warehouse: they know pipelines only through the registry (src/pipelines/index.ts), never a pipeline’s own modules.',
        severity: 'error',
        from: { path: '^src/(server|cli)/' },
        to: { path: '^src/pipelines/[^/]+/' },
      },
      // Removed when the pipeline kit lands.
      {
        'src/cli/run.ts': ['src/pipelines/synop/mysqlStaging.ts'],
        'src/server/routes/health.ts': ['src/pipelines/synop/mysqlStaging.ts'],
        'src/server/routes/ingest.ts': ['src/pipelines/synop/readers.ts'],
      },
    ),
    {
      name: 'server-knows-no-cli',
      comment: 'The server is a face of its own: the CLI may start or call it, the server never imports the CLI.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'web-talks-http-only',
      comment: 'The dashboard talks to the server over HTTP only: web/ imports nothing from src/.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/' },
    },
    {
      name: 'src-knows-no-web',
      comment: 'The platform serves the built dashboard as files, it imports nothing from web/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^web/' },
    },
    {
      name: 'no-circular',
      comment: 'No cycles: a module never reaches itself again through its imports, type-only ones included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are kept: they are arrows between layers like any other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
    },
  },
};
