import { openDatabase } from '../../local/db/open';
import { installSource } from '../../local/source/install';
import { simulateErpActivity } from '../../local/source/simulator';
import { lockDataDir } from '../../local/data-dir-lock';
import { lockOptions, type CommonOptions } from '../options';
import { loadConfigFile } from '../../lib/config/load';
import { count, progress } from '../format';
import { ensureWritableDataDir } from '../data-dir';

export async function simulateCommand(o: CommonOptions, changes: number, seed: number): Promise<number> {
  const config = loadConfigFile(o.configPath);
  await ensureWritableDataDir(o.dataDir);
  // The embedded source lives in the data dir: one process at a time (local/data-dir-lock.ts).
  const lock = o.sourceUrl ? null : await lockDataDir(o.dataDir, lockOptions(o, 'source simulate'));
  let db;
  try {
    db = await openDatabase({ url: o.sourceUrl, dataDir: o.dataDir, name: 'source' });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  try {
    await installSource(db, { timeZone: config.sourceTimeZone });
    const p = progress(`simulating ${count(changes)} ERP changes (seed ${seed})...`);
    const r = await simulateErpActivity(db, { changes, seed, onProgress: (n) => p.update(`${count(n)}`) });
    p.done(`${count(r.changes)} changes in ${count(r.transactions)} transactions`);
    if (o.json) console.log(JSON.stringify(r, null, 2));
    return 0;
  } finally {
    await db.close();
    await lock?.release();
  }
}
