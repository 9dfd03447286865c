/**
 * The free/busy probe: one lookup per system through the calendar broker, for
 * the system's probe mailbox (or a made-up person on it). The broker is built
 * for probes (see Prober): no answer cache, and a resolver that sends the
 * address to the system being probed, so each round asks the source itself.
 * "No calendar for this person" counts as an answer: the source was reached and
 * accepted our credentials, which is what the light is about.
 */
import type { FreeBusyBroker } from '../calendar/index.js';
import { ProbeErrors, ProbeFailure } from './errors.js';

const ANSWERED = new Set(['ok', 'not-found']);

export async function probeFreeBusy(broker: FreeBusyBroker, system: string, address: string, now: Date): Promise<{ latencyMs: number; detail: string }> {
  const t0 = performance.now();
  const start = new Date(now.getTime() - 3_600_000);
  const end = new Date(now.getTime() + 86_400_000);
  const answer = await broker.lookup([address], { start, end });
  const latencyMs = Math.round(performance.now() - t0);
  const a = answer.attendees[0];
  if (!a) throw new ProbeFailure(ProbeErrors.PROBE_FREEBUSY_FAILED, `free/busy lookup on ${system} gave no answer`);
  if (!ANSWERED.has(a.status)) {
    throw new ProbeFailure(ProbeErrors.PROBE_FREEBUSY_FAILED, `free/busy lookup on ${system}: ${a.status}${a.error ? `: ${a.error.message}` : ''}`);
  }
  const what = a.status === 'ok' ? `${a.periods.length} busy period(s)` : 'source reached, no calendar for the probe address';
  return { latencyMs, detail: `free/busy answered in ${latencyMs} ms (${what})` };
}
