/**
 * Promise.all that lets every promise settle before it throws the first failure. Promise.all rejects at the first
 * one and leaves the others running unobserved: a connection that opens after its sibling failed is then never
 * closed, and a command still in flight may write after the caller has given up.
 */
export async function settleAll<T extends readonly unknown[]>(all: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const out = await Promise.allSettled(all);
  for (const r of out) if (r.status === 'rejected') throw r.reason;
  return out.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
