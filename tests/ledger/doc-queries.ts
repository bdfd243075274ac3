import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every ```sql block of docs/querying.md, in order, exactly as printed. */
export const QUERYING_DOC_BLOCKS: readonly string[] = [...readFileSync(join(__dirname, '..', '..', 'docs', 'querying.md'), 'utf8').matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
