/**
 * One delivery transaction: a message's recipients for one destination sent
 * through that destination's pool (one pool per destination, kept between
 * ticks). The hop header goes in front of the spooled body, the DSN parameters
 * go on to the next hop, and each recipient's answer is classified
 * (protocol/smtp classifyError: one table) into delivered, deferred or bounced.
 * Nothing here writes to the spool: the engine records what this returns.
 */
import { classifyError, xtextDecode } from '../protocol/smtp/index.js';
import type { QueuedMessage } from '../spool/index.js';
import type { DeliveryDeps, DeliveryOptions } from './delivery.js';
import { oneLine, type Outcome } from './delivery-outcomes.js';
import { hopHeader, routeHash } from './headers.js';
import { DestinationPool, type Destination, type SendEnvelope } from './transport.js';

export interface Job {
  dest: Destination;
  /** spool recipient indexes and the address each is sent as */
  items: { index: number; deliverTo: string }[];
  notify?: string[];
  /** RFC 3461 ORCPT as given to us ("type;xtext"); nodemailer sends one per transaction, so it is part of the job key. */
  orcpt?: string;
}

/** The spool keeps ORCPT as on the wire ("type;xtext"); nodemailer xtext-encodes what it is given, so it gets the decoded form. */
function decodeOrcpt(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  if (semi < 0) return orcpt;
  return `${orcpt.slice(0, semi)};${xtextDecode(orcpt.slice(semi + 1)) ?? orcpt.slice(semi + 1)}`;
}

export class DeliveryTransport {
  readonly #pools = new Map<string, DestinationPool>();

  constructor(
    private readonly opts: Pick<DeliveryOptions, 'hostname'>,
    private readonly deps: Pick<DeliveryDeps, 'hopKey'>,
    private readonly now: () => number,
  ) {}

  /** Closes every destination's pool (engine stop). */
  close(): void {
    for (const p of this.#pools.values()) p.close();
  }

  #pool(dest: Destination): DestinationPool {
    let p = this.#pools.get(dest.key);
    if (!p) {
      p = new DestinationPool(dest, this.opts.hostname);
      this.#pools.set(dest.key, p);
    }
    return p;
  }

  async send(m: QueuedMessage, job: Job, body: readonly Buffer[]): Promise<Outcome[]> {
    const hop = hopHeader(this.deps.hopKey, this.opts.hostname, routeHash(this.deps.hopKey, job.dest.key), m.envelope.messageId ?? '', this.now());
    const hopBytes = Buffer.from(hop, 'latin1');
    const size = body.reduce((n, b) => n + b.length, hopBytes.length);
    // Large bodies go out as [hop header, ...body] without a copy; small ones joined (cheaper than a stream).
    const data = size < 65_536 ? Buffer.concat([hopBytes, ...body], size) : [hopBytes, ...body];
    const to = [...new Set(job.items.map((i) => i.deliverTo))];
    const env: SendEnvelope = {
      from: m.envelope.from,
      to,
      size,
      use8BitMime: m.envelope.bodyType === '8bitmime',
      // RFC 3461 6.2: NOTIFY, ORCPT, RET and ENVID go on to a next hop that offers DSN (nodemailer adds them only then).
      ...(m.envelope.ret || m.envelope.envid || job.notify || job.orcpt
        ? { dsn: {
          ...(m.envelope.ret ? { ret: m.envelope.ret } : {}), ...(m.envelope.envid ? { envid: m.envelope.envid } : {}),
          ...(job.notify ? { notify: job.notify } : {}), ...(job.orcpt ? { orcpt: decodeOrcpt(job.orcpt) } : {}),
        } }
        : {}),
    };
    try {
      const res = await this.#pool(job.dest).send(env, data);
      const rejected = new Map(res.rejected.map((r) => [r.address.toLowerCase(), r.error]));
      return job.items.map(({ index, deliverTo }) => {
        const err = rejected.get(deliverTo.toLowerCase());
        if (!err) return { index, result: 'delivered' as const, reply: oneLine(res.response) };
        const c = classifyError(err, 'rcpt');
        return { index, result: c.action === 'fail' ? 'bounced' as const : 'deferred' as const, reply: oneLine(err.response ?? err.message) };
      });
    } catch (err) {
      const e = err as { rejectedErrors?: { recipient?: string; response?: string; message: string }[]; response?: string; message?: string };
      const per = new Map((e.rejectedErrors ?? []).map((r) => [String(r.recipient ?? '').toLowerCase(), r]));
      return job.items.map(({ index, deliverTo }) => {
        const specific = per.get(deliverTo.toLowerCase());
        const c = classifyError(specific ?? err);
        const reply = oneLine(specific?.response ?? e.response ?? `${e.message ?? String(err)}`);
        return { index, result: c.action === 'fail' ? 'bounced' as const : 'deferred' as const, reply };
      });
    }
  }
}
