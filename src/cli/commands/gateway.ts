/**
 * `mailbridge gateway` (run the SMTP gateway alone), `queue ...`, `track` and
 * `route explain` (issue 4). Not yet started by `serve`: that wiring comes with
 * the console.
 *
 * Exit codes: 0 ok; 1 not found / unknown address; 2 usage or config; 3 the
 * store or directory could not be reached.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import {
  applyQueueCommand, StoreHoldGate, credentialCheck, CsvResolver, DirectoryOrCsvResolver, DirectoryResolver, Gateway, gatewayHostname, gatewayRunning, Router, searchTracking, selectMessages, Tracker,
  type QueueCommand, type QueueOp, type RecipientResolver,
} from '../../gateway/index.js';
import { logEvent } from '../../observe/index.js';
import { ProbeAwareResolver } from '../../probe/index.js';
import { Spool } from '../../spool/index.js';
import type { Store } from '../../store/index.js';
import type { GatewayConfig } from '../../config/index.js';
import { createContext, openStoreFor, type Context, type GlobalOptions } from '../context.js';
import { CommandExit, printJson, printText } from '../output.js';

function gatewayConfig(ctx: Context): GatewayConfig {
  if (!ctx.config.gateway) throw new CommandExit(ExitCode.badUsage, `mailbridge: ${ctx.config.file}: gateway: the section is missing`);
  return ctx.config.gateway;
}

/** The unified directory once a sync has filled it; until then the systems' users CSV files. */
async function chooseResolver(ctx: Context, store: Store): Promise<RecipientResolver> {
  const files = Object.fromEntries(Object.entries(ctx.config.systems).flatMap(([n, s]) => (s.users ? [[n, s.users]] : [])));
  const people = new DirectoryOrCsvResolver(store, new DirectoryResolver(store, ctx.config.domains), new CsvResolver(files, ctx.config.domains));
  // Probe mailboxes go to their own system whatever the directory says (issue 7's synthetic probes).
  return new ProbeAwareResolver(people, ctx.config.probes.mailboxes ?? {});
}

/** Starts the gateway of this config on an open store (for `gateway` and `serve`). */
export async function startGatewayFor(ctx: Context, store: Store): Promise<Gateway> {
  const config = gatewayConfig(ctx);
  const tls = config.tls ? { key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert) } : undefined;
  const tracker = new Tracker(store, gatewayHostname(config), ctx.log);
  return Gateway.start({
    config, domains: ctx.config.domains, systems: ctx.config.systems, resolver: await chooseResolver(ctx, store),
    log: ctx.log, registry: ctx.metrics.registry, tracker, ...(tls ? { tls } : {}),
    // SMTP AUTH accounts (offered only after STARTTLS; authenticated sessions may relay).
    ...(config.auth ? { authenticate: credentialCheck(config.auth.users) } : {}),
    // Cutover holds (issue 8): one node per spool, so two gateways on one host stay apart.
    holds: new StoreHoldGate(store, `${gatewayHostname(config)}:${config.spool}`, ctx.log),
  });
}

async function runGateway(program: Command): Promise<void> {
  const ctx = createContext(program.opts<GlobalOptions>());
  const config = gatewayConfig(ctx);
  const store = await openStoreFor(ctx);
  const gw = await startGatewayFor(ctx, store);
  // One line on stdout for scripts (and tests) that wait for the listener.
  printText(`gateway listening on ${config.listen.map((l, i) => `${l.host}:${gw.ports[i]}`).join(', ')}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logEvent(ctx.log, 'service.stopping', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await gw.stop();
  await store.close();
}

function summary(m: ReturnType<Spool['list']>[number]): Record<string, unknown> {
  return {
    id: m.id, receivedAt: new Date(m.receivedAt).toISOString(), size: m.size, from: m.envelope.from, held: m.held,
    recipients: m.envelope.recipients.map((r, i) => ({ address: r.address, ...m.recipients[i] })),
  };
}

async function queueCommand(program: Command, op: QueueOp, id: string | undefined, opts: { to?: string; destination?: string; bounce?: boolean; json?: boolean }): Promise<void> {
  const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
  const config = gatewayConfig(ctx);
  const cmd: QueueCommand = { op, ...(id ? { id } : {}), ...(opts.to ? { to: opts.to } : {}), ...(opts.destination ? { destination: opts.destination } : {}), ...(opts.bounce ? { bounce: true } : {}) };
  const { spool } = await Spool.open(config.spool, { readonly: gatewayRunning(config.spool) });
  let ids: string[];
  let how: string;
  if (gatewayRunning(config.spool)) {
    ids = selectMessages(spool, op === 'flush' ? {} : cmd).map((m) => m.id);
    if (id && ids.length === 0) throw new CommandExit(ExitCode.problemFound, `mailbridge: queue ${op}: no message ${id} in the queue`);
    await spool.writeControl(cmd);
    how = 'requested from the running gateway';
  } else {
    ids = (await applyQueueCommand(spool, cmd, () => undefined)).ids;
    how = 'applied (no gateway running)';
  }
  if (opts.json) printJson({ ok: true, op, ids, how });
  else printText(`${op}: ${ids.length} message(s) ${how}${ids.length ? `: ${ids.join(' ')}` : ''}`);
}

function registerQueue(program: Command): void {
  const q = program.command('queue').description('inspect and steer the gateway queue');
  q.command('list').description('messages in the queue').option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const { spool } = await Spool.open(gatewayConfig(ctx).spool, { readonly: true });
      const list = spool.list();
      if (opts.json) return printJson({ ok: true, messages: list.map(summary) });
      printText(list.length === 0 ? 'queue is empty' : list.map((m) => {
        const pending = m.recipients.filter((r) => Spool.pending(r)).length;
        return `${m.id}${m.held ? ' HELD' : ''} ${new Date(m.receivedAt).toISOString()} ${m.size}B <${m.envelope.from}> ${pending}/${m.recipients.length} pending`;
      }).join('\n'));
    });
  q.command('show').argument('<id>', 'queue id').description('one message: envelope and per-recipient state').option('--json', 'print one JSON document')
    .action(async (id: string, opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const { spool } = await Spool.open(gatewayConfig(ctx).spool, { readonly: true });
      const m = spool.get(id);
      if (!m) throw new CommandExit(ExitCode.problemFound, `mailbridge: no message ${id} in the queue`);
      if (opts.json) return printJson({ ok: true, message: summary(m) });
      const lines = [`${m.id}${m.held ? ' (held)' : ''}`, `received ${new Date(m.receivedAt).toISOString()}, ${m.size} bytes, from <${m.envelope.from}>`];
      m.envelope.recipients.forEach((r, i) => {
        const s = m.recipients[i]!;
        lines.push(`  <${r.address}> ${s.status}, ${s.attempts} attempt(s)${Spool.pending(s) ? `, next ${new Date(s.nextAttempt).toISOString()}` : ''}${s.lastReply ? `: ${s.lastReply}` : ''}`);
      });
      printText(lines.join('\n'));
    });
  for (const op of ['hold', 'release', 'retry', 'delete'] as const) {
    const c = q.command(op).argument('[id]', 'queue id').description(`${op} a message (or all matching --to / --destination)`)
      .option('--to <address>', 'every message with this pending recipient')
      .option('--destination <key>', 'every message pending for this destination (system:NAME or external)')
      .option('--json', 'print one JSON document');
    if (op === 'delete') c.option('--bounce', 'send the sender a failure DSN first');
    c.action((id: string | undefined, opts: { to?: string; destination?: string; bounce?: boolean; json?: boolean }) => queueCommand(program, op, id, opts));
  }
  q.command('flush').description('try every queued message now').option('--json', 'print one JSON document')
    .action((opts: { json?: boolean }) => queueCommand(program, 'flush', undefined, opts));
}

function registerTrack(program: Command): void {
  program.command('track').description('message tracking search')
    .option('--message-id <id>', 'Message-ID').option('--from <address>', 'envelope sender').option('--to <address>', 'recipient')
    .option('--queue-id <id>', 'queue id').option('--since <time>', 'ISO time').option('--json', 'print one JSON document')
    .action(async (opts: { messageId?: string; from?: string; to?: string; queueId?: string; since?: string; json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const since = opts.since ? Date.parse(opts.since) : undefined;
      if (since !== undefined && Number.isNaN(since)) throw new CommandExit(ExitCode.badUsage, `mailbridge: track: --since ${opts.since} is not an ISO time`);
      const store = await openStoreFor(ctx);
      try {
        const rows = await searchTracking(store, {
          ...(opts.messageId ? { messageId: opts.messageId } : {}), ...(opts.from !== undefined ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}), ...(opts.queueId ? { queueId: opts.queueId } : {}), ...(since !== undefined ? { since } : {}),
        });
        if (opts.json) return printJson({ ok: true, events: rows.map((r) => ({ ...r, at: new Date(Number(r.at)).toISOString() })) });
        printText(rows.length === 0 ? 'no events' : rows.map((r) =>
          `${new Date(Number(r.at)).toISOString()} ${r.queue_id} ${r.event.padEnd(9)} <${r.sender}> -> ${r.recipient ? `<${r.recipient}>` : '-'}${r.destination ? ` via ${r.destination}` : ''}${r.detail ? `: ${r.detail}` : ''}`).join('\n'));
      } finally {
        await store.close();
      }
    });
}

function registerRoute(program: Command): void {
  program.command('route').description('routing').command('explain').argument('<address>', 'recipient address')
    .description('which system gets mail for ADDRESS, and why').option('--json', 'print one JSON document')
    .action(async (address: string, opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const config = gatewayConfig(ctx);
      const store = await openStoreFor(ctx);
      try {
        const router = new Router({ domains: ctx.config.domains, routing: config.routing, resolver: await chooseResolver(ctx, store) });
        const route = await router.route(address.trim());
        if (opts.json) printJson({ ok: route.kind !== 'unknown', address, mode: config.routing.mode, source: router.resolverSource, ...route });
        else printText(`${address}: ${route.kind === 'system' ? `system ${route.system} (deliver to ${route.deliverTo})` : route.kind}\n  because ${route.reason}`);
        if (route.kind === 'unknown') process.exitCode = ExitCode.problemFound;
      } finally {
        await store.close();
      }
    });
}

export function registerGateway(program: Command): void {
  program.command('gateway').description('run the SMTP gateway alone').action(() => runGateway(program));
  registerQueue(program);
  registerTrack(program);
  registerRoute(program);
}
