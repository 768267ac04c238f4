// Hundreds of in-flight requests listen to the same long-lived AbortSignal (the controllers' stop
// signal). EventTarget's addEventListener and removeEventListener walk the signal's whole listener
// list, so each request paid for all the others: a few percent of the sidecar's CPU under load.
// onSignalAbort keeps one real listener per signal and a Set of callbacks behind it (O(1) add and remove).

interface Fanout {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `fn` once when `signal` aborts, like addEventListener('abort', fn, { once: true }); returns
 * the function that unregisters it. Like addEventListener, nothing happens for a signal that has
 * already aborted: check `signal.aborted` first. A callback that throws does not stop the others;
 * its error is rethrown on the next tick (as EventTarget reports a listener's error). The real
 * listener goes when its last callback does, so a signal that outlives its users keeps none.
 */
export function onSignalAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) return noop;
  let fanout = fanouts.get(signal);
  if (!fanout) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      fanouts.delete(signal);
      const all = [...callbacks];
      callbacks.clear();
      for (const cb of all) {
        try {
          cb();
        } catch (err) {
          process.nextTick(() => {
            throw err;
          });
        }
      }
    };
    fanout = { callbacks, listener };
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', listener, { once: true });
  }
  // A fresh wrapper per registration: the same function registered twice is two registrations
  // whose unregister functions stay independent.
  const entry = () => fn();
  const own = fanout;
  own.callbacks.add(entry);
  return () => {
    if (!own.callbacks.delete(entry) || own.callbacks.size > 0) return;
    if (fanouts.get(signal) === own) fanouts.delete(signal);
    signal.removeEventListener('abort', own.listener);
  };
}

function noop(): void {}
