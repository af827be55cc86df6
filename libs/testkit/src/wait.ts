import { setTimeout as sleep } from 'node:timers/promises';

const UNTIL_POLL_MS = 40;

/** Polls `check` until it returns a value, at most `ms`. */
export async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(UNTIL_POLL_MS);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
