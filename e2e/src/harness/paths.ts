import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// e2e/src/harness or e2e/dist/harness → repository root.
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
