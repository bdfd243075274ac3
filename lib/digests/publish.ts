import type { DigestRecord, DigestStore, LedgerMarker } from './port';

/** Ledgers whose marker this process has written to a store (once per process and store). */
const marked = new WeakMap<DigestStore, Set<string>>();

/**
 * A digest to the store under its ledger's namespace; first, once per process, the ledger's marker
 * (`<ledgerId>/ledger.json`) — written by whoever publishes first, idempotent like every digest.
 * Publishing what the database holds again is always safe (write-once, same bytes = no-op).
 */
export async function publishToStore(store: DigestStore, ledger: LedgerMarker, digest: DigestRecord): Promise<void> {
  let done = marked.get(store);
  if (!done) {
    done = new Set();
    marked.set(store, done);
  }
  if (!done.has(ledger.ledgerId)) {
    await store.putMarker(ledger);
    done.add(ledger.ledgerId);
  }
  await store.put(ledger.digestNamespace, digest);
}
