import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The local stand-in for the SNS topic: every published message appended to an NDJSON file. */
export interface OutboxMessage {
  readonly publishedAt: string;
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly attributes?: Record<string, string>;
}

export class FileOutbox {
  constructor(readonly file: string) {}

  async publish(m: Omit<OutboxMessage, 'publishedAt'>): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const entry: OutboxMessage = { publishedAt: new Date().toISOString(), ...m };
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }

  async list(): Promise<OutboxMessage[]> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as OutboxMessage);
  }
}
