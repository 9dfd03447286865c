/**
 * The console's dependencies for `mailbridge serve`, from the store and the
 * config (the composition root's job: web never opens the database itself).
 */
import { planChecks } from '../../check/index.js';
import type { CheckRunSummary, ConsoleDeps } from '../../web/index.js';
import type { Store } from '../../store/index.js';
import type { Context } from '../context.js';

/** Per system the endpoints `check` probes, so one never checked shows as unknown. */
export function expectedEndpoints(ctx: Context): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ctx.config.systems).map(([name, s]) => [name, planChecks(name, s, ctx.config.check.timeout).map((p) => p.endpoint)]));
}

export function buildConsoleDeps(ctx: Context, store: Store, runChecks: () => Promise<CheckRunSummary>): ConsoleDeps {
  return {
    organization: ctx.config.organization,
    users: ctx.config.web.users,
    checks: store.checks,
    audit: store.audit,
    runs: store.runs,
    expected: expectedEndpoints(ctx),
    // Two missed rounds (plus the time a round may take) before a light goes grey.
    staleAfterMs: 2 * ctx.config.probes.interval + ctx.config.check.timeout,
    runChecks,
  };
}
