// Hundreds of in-flight requests listen to the same long-lived AbortSignal (the controllers' stop
// signal). EventTarget's addEventListener and removeEventListener walk the signal's whole listener
// list, so each request paid for all the others: a few percent of the sidecar's CPU under load.
// onSignalAbort keeps one real listener per signal and a Set of callbacks behind it (O(1) add and remove).

const fanouts = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` aborts, like addEventListener('abort', fn, { once: true }); returns
 * the function that unregisters it. Like addEventListener, nothing happens for a signal that has
 * already aborted: check `signal.aborted` first. A callback that throws does not stop the others;
 * its error is rethrown on the next tick (as EventTarget reports a listener's error).
 */
export function onSignalAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) return noop;
  let callbacks = fanouts.get(signal);
  if (!callbacks) {
    const set = new Set<() => void>();
    callbacks = set;
    fanouts.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        fanouts.delete(signal);
        const all = [...set];
        set.clear();
        for (const cb of all) {
          try {
            cb();
          } catch (err) {
            process.nextTick(() => {
              throw err;
            });
          }
        }
      },
      { once: true },
    );
  }
  // A fresh wrapper per registration: the same function registered twice is two registrations
  // whose unregister functions stay independent.
  const entry = () => fn();
  const set = callbacks;
  set.add(entry);
  return () => void set.delete(entry);
}

function noop(): void {}
