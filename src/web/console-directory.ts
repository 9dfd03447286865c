/**
 * The console's Directory page API (issue 7): search people by address, alias
 * or name; one record with where each value came from and the routing decision
 * (the same answer as `mailbridge directory show`); the open conflicts; the
 * last sync runs. Read-only, behind the console's session guard.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ShowResult } from '../directory/index.js';
import type { ConflictRow, ConsoleRunRow, PeopleQuery, PersonRow } from '../store/index.js';
import type { App, ConsoleArea } from './console-routes.js';
import { parseParams } from './console-params.js';
import { addressParam, badRequest } from './console-page-util.js';

export interface DirectoryAreaDeps {
  /** The configured system names (the `system` filter must be one). */
  systems: readonly string[];
  people(q: PeopleQuery): Promise<{ total: number; people: PersonRow[] }>;
  show(address: string): Promise<ShowResult>;
  conflicts(): Promise<ConflictRow[]>;
  runs(opts: { kind?: string; limit: number }): Promise<ConsoleRunRow[]>;
}

export function directoryArea(deps: DirectoryAreaDeps): ConsoleArea {
  const peopleSpec = {
    q: { kind: 'text', max: 200 },
    system: { kind: 'enum', values: deps.systems },
    limit: { kind: 'int', min: 1, max: 200 },
    offset: { kind: 'int', min: 0, max: 1_000_000 },
  } as const;
  const runsSpec = { kind: { kind: 'text', max: 40 }, limit: { kind: 'int', min: 1, max: 100 } } as const;

  return <L extends FastifyBaseLogger>(app: App<L>): void => {
    app.get('/api/directory/people', async (req, reply) => {
      const p = parseParams(req.query, peopleSpec);
      if (!p.ok) return badRequest(reply, p.error);
      const limit = p.value.limit ?? 50;
      const offset = p.value.offset ?? 0;
      const found = await deps.people({ limit, offset, ...(p.value.q ? { q: p.value.q } : {}), ...(p.value.system ? { system: p.value.system } : {}) });
      return { total: found.total, limit, offset, systems: deps.systems, people: found.people };
    });

    app.get<{ Params: { address: string } }>('/api/directory/people/:address', async (req, reply) => {
      const a = addressParam(req.params.address);
      if (!a.ok) return badRequest(reply, a.error);
      const shown = await deps.show(a.value);
      if (!shown.found) return reply.code(404).send({ error: `${a.value} is not in the directory`, ...shown });
      return shown;
    });

    app.get('/api/directory/conflicts', async (req, reply) => {
      const p = parseParams(req.query, {});
      if (!p.ok) return badRequest(reply, p.error);
      return { conflicts: await deps.conflicts() };
    });

    app.get('/api/directory/runs', async (req, reply) => {
      const p = parseParams(req.query, runsSpec);
      if (!p.ok) return badRequest(reply, p.error);
      return { runs: await deps.runs({ kind: p.value.kind ?? 'directory', limit: p.value.limit ?? 10 }) };
    });
  };
}
