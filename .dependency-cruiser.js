/**
 * The layers of the code, checked by `npm run layers` (part of `npm test`).
 * Imports point downwards only: base < connectors < pipelines < orchestrator < server, cli; web apart.
 * Type-only imports count too: a type from an upper layer ties the lower one to it all the same.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** The base: storage, engine, warehouse, streams, change capture, checks, metrics and logs, configuration, time. */
const BASE = '^src/(lake|engine|warehouse|stream|cdc|quality|observability|config|time)/';

/** A pipeline's own folder: every folder under src/pipelines/ but the kit, which holds the contract all sides share. */
const A_PIPELINE = '^src/pipelines/(?!kit/)[^/]+/';

export default {
  forbidden: [
    {
      name: 'base-knows-no-upper-layer',
      comment:
        'The base (lake, engine, warehouse, stream, cdc, quality, observability, config, time) knows no connector, no pipeline, no orchestrator, no server and no CLI.',
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
    {
      name: 'pipelines-know-no-orchestrator',
      comment:
        'A pipeline knows connectors, the base and the pipeline kit (src/pipelines/kit/: the contract, the shared steps), never the orchestrator: the orchestrator runs pipelines, not the other way round.',
      severity: 'error',
      from: { path: '^src/pipelines/' },
      to: { path: '^src/orchestrator/' },
    },
    {
      name: 'orchestrator-runs-pipelines-through-their-interface',
      comment:
        'The orchestrator runs pipelines through their declared interface: it reaches into no pipeline’s folder, and knows neither the server nor the CLI.',
      severity: 'error',
      from: { path: '^src/orchestrator/' },
      to: { path: [A_PIPELINE, '^src/(server|cli)/'] },
    },
    {
      name: 'faces-reach-pipelines-through-the-registry',
      comment:
        'The server and the CLI are thin faces over the orchestrator and the warehouse: they know pipelines only through the registry (src/pipelines/index.ts) and the kit’s contract (src/pipelines/kit/), never a pipeline’s own modules.',
      severity: 'error',
      from: { path: '^src/(server|cli)/' },
      to: { path: A_PIPELINE },
    },
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
