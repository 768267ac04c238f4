import { describe, expect, it } from '@jest/globals';
import { apiQuietBeforeLoadMs, MIN_API_QUIET_MS } from './api-quiet.js';

describe('API quiet before the load', () => {
  it('lasts burst/qps seconds, the time an empty token bucket takes to fill', () => {
    expect(apiQuietBeforeLoadMs(5, 10)).toBe(2000);
    expect(apiQuietBeforeLoadMs(1000, 2000)).toBe(2000);
    expect(apiQuietBeforeLoadMs(2, 30)).toBe(15_000);
  });

  it('never goes below the minimum, also without a limit', () => {
    expect(apiQuietBeforeLoadMs(1000, 10)).toBe(MIN_API_QUIET_MS);
    expect(apiQuietBeforeLoadMs(0, 10)).toBe(MIN_API_QUIET_MS);
    expect(apiQuietBeforeLoadMs(-1, 10)).toBe(MIN_API_QUIET_MS);
  });
});
