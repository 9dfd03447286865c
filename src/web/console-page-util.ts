/**
 * Small helpers shared by the console's Directory, Migration, Free/busy and
 * Charts areas: path parameters checked once, and 4xx answers that name the
 * parameter and say what is allowed.
 */
import type { FastifyReply } from 'fastify';

/** An address in a path: one @, no spaces or control characters, at most 320 characters (RFC 5321 4.5.3.1). */
export function addressParam(raw: string): { ok: true; value: string } | { ok: false; error: string } {
  const a = raw.trim().toLowerCase();
  if (a.length === 0 || a.length > 320 || !/^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+$/.test(a)) {
    return { ok: false, error: `address: ${JSON.stringify(raw.slice(0, 80))} is not an email address` };
  }
  return { ok: true, value: a };
}

export function badRequest(reply: FastifyReply, error: string): FastifyReply {
  return reply.code(400).send({ error });
}

export const HOUR = 3_600_000;
