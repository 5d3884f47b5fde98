// Internal: what the Worker has learned of each upstream (by identity: base URL + model), per isolate.

/** Upstreams one memory holds before it is emptied whole: a long-lived isolate never grows without bound. */
const UPSTREAMS = 256;

/**
 * A per-isolate memory keyed by upstream identity (`upstreamIdentity`): what an upstream asked for once
 * (a chat template's shape, fields it refuses, reasoning or signatures sent back) holds for its later
 * requests, so none pays for the same refusal twice.
 */
export class UpstreamMemory<V> {
  readonly #learned = new Map<string, V>();

  get(upstream: string): V | undefined {
    return this.#learned.get(upstream);
  }

  has(upstream: string): boolean {
    return this.#learned.has(upstream);
  }

  set(upstream: string, value: V): void {
    if (this.#learned.size >= UPSTREAMS && !this.#learned.has(upstream)) this.#learned.clear();
    this.#learned.set(upstream, value);
  }
}
