// checkout: shops place orders. One transaction = the order (must not exist yet), the payment, and
// a stock decrement on one of a few hot SKUs, conditional on the SKU's version the shop read
// last. All three keys carry the shop's hash tag, so they are on one shard and may share a
// precondition. Two shops' clients that read the same stock version race: one commits, the
// other is told precondition_failed, reads again and retries (bounded) under a new id.
import { UNITS_PER_ORDER_MAX } from './config.js';
import { send, type Budget } from './drive.js';
import { LoadError } from './errors.js';
import { KeyBook } from './book.js';
import { RunLog, type SentTx } from './log.js';
import { Rng } from './rng.js';
import { senderOf, type Scenario, type ScenarioContext } from './scenario.js';
import { spreadTag } from './tags.js';

/** Price of one unit, for the order total; any number would do. */
const UNIT_PRICE_CENTS = 1_250;

interface Stock {
  readonly qty: number;
}

function decodeStock(json: unknown): Stock {
  const qty = (json as Record<string, unknown> | null)?.['qty'];
  if (typeof qty !== 'number') throw new TypeError(`stock value without a qty: ${JSON.stringify(json)}`);
  return { qty };
}

export function shopTag(runId: string, shop: number, shards: number): string {
  return spreadTag(`${runId}-shop`, shop, shards);
}

export function skuKey(tag: string, sku: number): string {
  return `{${tag}}:stock:sku${sku}`;
}

interface Shop {
  readonly tag: string;
  readonly skus: readonly string[];
}

export function checkoutScenario(): Scenario {
  const book = new KeyBook<Stock>();
  const rngs = new Map<number, Rng>();
  const shops: Shop[] = [];
  return {
    name: 'checkout',
    async setup(ctx) {
      const o = ctx.options;
      for (let shop = 0; shop < o.shops; shop += 1) {
        const tag = shopTag(o.run_id, shop, o.shards);
        const skus = Array.from({ length: o.skus_per_shop }, (_, sku) => skuKey(tag, sku));
        shops.push({ tag, skus });
        for (const [sku, key] of skus.entries()) {
          const tx: SentTx = { id: `${o.run_id}.init.${shop}.${sku}`, records: [{ key, value: { qty: o.stock_initial }, expect: { absent: true } }], meta: { scenario: 'checkout', step: 'init' } };
          const outcome = await send(senderOf(ctx, undefined), tx);
          if (outcome.kind !== 'committed') throw new LoadError('setup_failed', `could not create ${key}: ${JSON.stringify(outcome)}`);
          const ack = { tx, receipt: outcome.receipt, effect: { kind: 'stock_init', sku: key, qty: o.stock_initial } } as const;
          ctx.log.acks.push(ack);
          ctx.log.skus.push(key);
          book.advance(key, RunLog.versionOf(ack, key) ?? 1, { qty: o.stock_initial });
        }
      }
    },
    iteration(ctx, budget) {
      return async (client, n) => {
        let rng = rngs.get(client);
        if (rng === undefined) rngs.set(client, (rng = new Rng(ctx.options.seed * 65_537 + client)));
        const shop = shops[rng.below(shops.length)] as Shop;
        await order(ctx, budget, book, rng, shop, client, n);
      };
    },
  };
}

async function order(ctx: ScenarioContext, budget: Budget, book: KeyBook<Stock>, rng: Rng, shop: Shop, client: number, n: number): Promise<void> {
  const o = ctx.options;
  const key = shop.skus[rng.below(shop.skus.length)] as string;
  const units = 1 + rng.below(UNITS_PER_ORDER_MAX);
  const tag = shop.tag;
  let known = book.get(key);
  for (let attempt = 0; attempt <= o.precondition_retries_max && known !== undefined; attempt += 1) {
    const tx: SentTx = {
      id: `${o.run_id}.co.${client}.${n}.${attempt}`,
      records: [
        { key: `{${tag}}:order:${client}.${n}`, value: { sku: key, units, total_cents: units * UNIT_PRICE_CENTS }, expect: { absent: true } },
        { key: `{${tag}}:payment:${client}.${n}`, value: { amount_cents: units * UNIT_PRICE_CENTS, method: 'card' } },
        { key, value: { qty: known.value.qty - units }, expect: { version: known.version } },
      ],
      meta: { scenario: 'checkout', client, order: n },
    };
    const effect = { kind: 'checkout', sku: key, units } as const;
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
      if (version !== undefined) book.advance(key, version, { qty: known.value.qty - units });
      return;
    }
    ctx.log.refused.push({ tx, status: outcome.status, code: outcome.code });
    if (outcome.code !== 'precondition_failed' || attempt === o.precondition_retries_max) return;
    ctx.stats.precondition_retries += 1;
    known = await book.refresh(key, known.version, ctx.sdk, decodeStock);
  }
}
