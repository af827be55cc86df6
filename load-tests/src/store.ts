// A StateStore that remembers the size of every checkpoint the SDK saved as trusted, so the run
// can show the client's trusted state only ever moved forward.
import type { StateStore } from '@cairn/client';

/** Sizes remembered; a run saves one per new signed state it reads, far fewer than this. */
export const SAVED_SIZES_MAX = 100_000;

export class RecordingStore implements StateStore {
  #note: string | undefined;
  readonly sizes: number[] = [];

  load(): Promise<string | undefined> {
    return Promise.resolve(this.#note);
  }

  save(note: string): Promise<void> {
    this.#note = note;
    if (this.sizes.length < SAVED_SIZES_MAX) this.sizes.push(noteSize(note));
    return Promise.resolve();
  }
}

/** The tree size of a C2SP checkpoint note (its second line); NaN when it has none. */
export function noteSize(note: string): number {
  const line = note.split('\n')[1] ?? '';
  return /^[0-9]+$/.test(line) ? Number(line) : Number.NaN;
}
