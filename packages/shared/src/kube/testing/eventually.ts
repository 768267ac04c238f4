// Waits (in real time) until a condition holds: for tests whose progress depends on real sockets.
// The timeout is generous on purpose; a passing test never waits for it.

export async function eventually(cond: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
