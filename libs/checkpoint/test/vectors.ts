// Typed access to the published vectors, read in place from ../shared/testdata/tlog (never copied).
import { join } from 'node:path';
import { readJson, tlogVectorsDir } from '@cairn/testkit';

export interface SignedNoteVectors {
  keys: Record<string, { vkey: string; skey?: string; keyIdHex: string }>;
  signedNotes: Array<{
    name: string;
    text?: string;
    signedNote: string;
    signedNoteHex?: string;
    verifiers: string[];
    expect: {
      ok: boolean;
      error?: string;
      verifiedSigs?: Array<string | { name: string; keyIdHex: string; base64: string }>;
      unverifiedSigs?: string[];
    };
  }>;
  malformedNotes_expectError_malformed_note: { cases: string[] };
  badVerifierKeys_expectError: { cases: string[] };
  verifierListErrors: { cases: Array<{ lookup: [string, string]; list?: string; error: string }> };
}

export interface CheckpointVectors {
  c2spCheckpointExample: {
    note: string;
    expect: {
      origin: string;
      size: number;
      rootHashB64: string;
      extensionLines: string[];
      sigKeyIdHex: string;
      sigLenBytes: number;
    };
  };
  golangSumdbTreeNote: { text: string; size: number; rootHashB64: string };
  formatsCheckpointParse: {
    valid: Array<{ in: string; origin?: string; size?: number; hashUtf8?: string; rest?: string; caution?: string }>;
    invalid: string[];
  };
  staticCtCheckpointRFC6962Sig: { signedNote: string; vkey: string };
}

export function signedNoteVectors(): SignedNoteVectors {
  return readJson<SignedNoteVectors>(join(tlogVectorsDir(), 'signed-note-vectors.json'));
}

export function checkpointVectors(): CheckpointVectors {
  return readJson<CheckpointVectors>(join(tlogVectorsDir(), 'checkpoint-cosig-witness-examples.json'));
}

/** The vector key entry, or a test failure if the file no longer has it. */
export function vectorKey(v: SignedNoteVectors, name: string): { vkey: string; skey?: string; keyIdHex: string } {
  const key = v.keys[name];
  if (key === undefined) throw new Error(`vector key ${name} missing`);
  return key;
}
