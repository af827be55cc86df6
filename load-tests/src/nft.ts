// nft: tokens are minted (must not exist yet), then buyers race to buy them. A transfer names the
// token version the buyer saw (`expect: {version: n}`) and records the sale under the token's hash
// tag: of all transfers sent against version n, exactly one may be acknowledged; the others are
// told precondition_failed (a lost race, the normal answer), read again and go on.
import { send, type Budget } from './drive.js';
import { LoadError } from './errors.js';
import { KeyBook } from './book.js';
import { RunLog, type SentTx } from './log.js';
import { Rng } from './rng.js';
import { senderOf, type Scenario, type ScenarioContext } from './scenario.js';
import { spreadTag } from './tags.js';

/** Highest price a buyer offers; the price only makes transfers differ. */
const PRICE_MAX = 10_000;
export const MINTER = 'minter';

interface Owner {
  readonly owner: string;
}

function decodeOwner(json: unknown): Owner {
  const owner = (json as Record<string, unknown> | null)?.['owner'];
  if (typeof owner !== 'string') throw new TypeError(`token value without an owner: ${JSON.stringify(json)}`);
  return { owner };
}

export function tokenTag(runId: string, token: number, shards: number): string {
  return spreadTag(`${runId}-nft`, token, shards);
}

export function tokenKey(tag: string): string {
  return `{${tag}}:token`;
}

interface Token {
  readonly tag: string;
  readonly key: string;
}

export function nftScenario(): Scenario {
  const book = new KeyBook<Owner>();
  const rngs = new Map<number, Rng>();
  const tokens: Token[] = [];
  return {
    name: 'nft',
    async setup(ctx) {
      const o = ctx.options;
      for (let token = 0; token < o.tokens; token += 1) {
        const tag = tokenTag(o.run_id, token, o.shards);
        const key = tokenKey(tag);
        tokens.push({ tag, key });
        const tx: SentTx = { id: `${o.run_id}.mint.${token}`, records: [{ key, value: { owner: MINTER, token }, expect: { absent: true } }], meta: { scenario: 'nft', step: 'mint' } };
        const outcome = await send(senderOf(ctx, undefined), tx);
        if (outcome.kind !== 'committed') throw new LoadError('setup_failed', `could not mint ${key}: ${JSON.stringify(outcome)}`);
        const ack = { tx, receipt: outcome.receipt, effect: { kind: 'mint', token: key, owner: MINTER } } as const;
        ctx.log.acks.push(ack);
        ctx.log.tokens.push(key);
        book.advance(key, RunLog.versionOf(ack, key) ?? 1, { owner: MINTER });
      }
    },
    iteration(ctx, budget) {
      return async (client, n) => {
        let rng = rngs.get(client);
        if (rng === undefined) rngs.set(client, (rng = new Rng(ctx.options.seed * 65_537 + client)));
        await buy(ctx, budget, book, rng, tokens[rng.below(tokens.length)] as Token, client, n);
      };
    },
  };
}

async function buy(ctx: ScenarioContext, budget: Budget, book: KeyBook<Owner>, rng: Rng, token: Token, client: number, n: number): Promise<void> {
  const o = ctx.options;
  const key = token.key;
  const known = book.get(key);
  if (known === undefined) return;
  const buyer = `buyer${client}`;
  const price = 1 + rng.below(PRICE_MAX);
  const tx: SentTx = {
    id: `${o.run_id}.nft.${client}.${n}`,
    records: [
      { key, value: { owner: buyer, from: known.value.owner, price }, expect: { version: known.version } },
      { key: `{${token.tag}}:sale:${client}.${n}`, value: { buyer, seller: known.value.owner, price, version: known.version + 1 }, expect: { absent: true } },
    ],
    meta: { scenario: 'nft', client, bid: n },
  };
  const effect = { kind: 'transfer', token: key, from: known.value.owner, to: buyer, expected_version: known.version } as const;
  const outcome = await send(senderOf(ctx, budget), tx);
  if (outcome.kind === 'not_sent') return;
  if (outcome.kind === 'uncertain') {
    ctx.log.uncertain.push({ tx, effect, code: outcome.code });
    return;
  }
  if (outcome.kind === 'committed') {
    ctx.log.acks.push({ tx, receipt: outcome.receipt, effect });
    ctx.stats.committed += 1;
    const version = outcome.receipt.records.find((r) => r.key === key)?.version;
    if (version !== undefined) book.advance(key, version, { owner: buyer });
    return;
  }
  ctx.log.refused.push({ tx, status: outcome.status, code: outcome.code });
  if (outcome.code !== 'precondition_failed') return;
  ctx.stats.races_lost += 1;
  await book.refresh(key, known.version, ctx.sdk, decodeOwner);
}
