import { openLedgerDatabase } from '../../local/ledger-database';
import { runAndPrint, runPrompt } from '../../local/sql-prompt/prompt';
import { ReadOnlySession } from '../../local/sql-prompt/read-only-session';
import { splitStatements } from '../../local/sql-prompt/split-statements';
import { lockOptions, type CommonOptions } from '../options';

/**
 * `cdc-ledger sql [-c "…"]`: a read-only SQL prompt on the ledger database only (the embedded one in
 * <data-dir>/target, or --target-url). It opens neither the source nor the Data API server, needs no
 * config and never migrates. Exit codes: -c → 0, or 1 at the first statement that fails (the rest is
 * not run); the prompt → 0 on a terminal, and 1 when input was piped and a statement failed.
 */
export async function sqlCommand(common: CommonOptions, command: string | undefined): Promise<number> {
  const db = await openLedgerDatabase({ dataDir: common.dataDir, lock: lockOptions(common, 'sql'), ...(common.targetUrl ? { targetUrl: common.targetUrl } : {}) });
  try {
    const session = await ReadOnlySession.open(db);
    try {
      const io = { out: (t: string) => console.log(t), err: (t: string) => console.error(t) };
      if (command !== undefined) {
        const { statements, rest } = splitStatements(command);
        const all = rest.trim() === '' ? statements : [...statements, rest.trim()];
        if (all.length === 0) {
          console.error('-c has no SQL statement');
          return 2;
        }
        for (const sql of all) if (!(await runAndPrint(session, sql, io))) return 1;
        return 0;
      }
      const interactive = process.stdin.isTTY === true;
      if (interactive) {
        const where = common.targetUrl ? 'the --target-url ledger' : `the embedded ledger in ${common.dataDir}`;
        console.log(`cdc-ledger sql — ${where}, read-only. \\? for help, \\q to quit.`);
      }
      const { failed } = await runPrompt(session, { input: process.stdin, ...(interactive ? { terminal: process.stdout } : {}), ...io });
      return !interactive && failed > 0 ? 1 : 0;
    } finally {
      session.release();
    }
  } finally {
    await db.close();
  }
}
