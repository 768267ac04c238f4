// Named health/readiness checks: a check passes by returning and fails by throwing.

export interface HealthCheck {
  /** Path segment: /healthz/<name> or /readyz/<name>. */
  readonly name: string;
  check(): void | Promise<void>;
}

export interface CheckOutcome {
  name: string;
  ok: boolean;
  message?: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function validateCheckName(name: string): void {
  if (!NAME.test(name)) throw new Error(`health check name ${JSON.stringify(name)} must be lowercase letters, digits and inner dashes`);
}

/** Runs a check, failing it when it throws or does not settle within `timeoutMs`. */
export async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => check.check()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`check did not finish within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return { name: check.name, ok: true };
  } catch (err) {
    return { name: check.name, ok: false, message: err instanceof Error ? err.message : String(err) };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
