// Pure helpers for the "Say & offer" panel: what the engine is asked about
// (the product ids on the sale), which offers still need a `shown` record,
// what the cashier already acted on, and the Alt+1..3 shortcut.

import { t, type PlainKey } from './i18n';
import type { Offer } from '../bindings/Offer';
import type { OfferKind } from '../bindings/OfferKind';
import type { PromptKind } from '../bindings/PromptKind';

/** The engine sends at most this many; the panel never shows more. */
export const MAX_PROMPTS = 3;
export const MAX_OFFERS = 2;
/** Basket changes within this long make one refresh. */
export const REFRESH_DEBOUNCE_MS = 350;

/** The distinct catalogue product ids on the sale, sorted (manual lines have none). */
export function basketProductIds(lines: readonly { product_id: string | null }[]): string[] {
  const ids = new Set<string>();
  for (const l of lines) if (l.product_id) ids.add(l.product_id);
  return [...ids].sort();
}

/**
 * Remembers which offers were already recorded as `shown` during one profile
 * opening, so a refresh (basket change) does not count them again.
 */
export class ShownOnce {
  private seen = new Set<string>();
  /** The offers not seen before (and marks them seen). */
  fresh(offers: readonly Offer[]): Offer[] {
    const out: Offer[] = [];
    for (const o of offers) {
      if (this.seen.has(o.key)) continue;
      this.seen.add(o.key);
      out.push(o);
    }
    return out;
  }
}

/** What is left to show once the cashier's own actions (this opening) are taken out, capped. */
export function visible<T extends { key: string }>(items: readonly T[], handled: ReadonlySet<string>, max: number): T[] {
  return items.filter((i) => !handled.has(i.key)).slice(0, max);
}

/** Alt+1..3 (no other modifier): the index of the prompt to mark used, else null. */
export function promptShortcut(e: Pick<KeyboardEvent, 'altKey' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'key' | 'code'>): number | null {
  if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return null;
  // With Alt held some layouts report another character in `key`; `code` is the physical key.
  const m = /^(?:Digit|Numpad)([1-9])$/.exec(e.code) ?? /^([1-9])$/.exec(e.key);
  if (!m) return null;
  const n = Number(m[1]) - 1;
  return n < MAX_PROMPTS ? n : null;
}

const PROMPT_LABELS: Record<PromptKind, PlainKey> = {
  note_due: 'suggest.kind.note_due',
  follow_up: 'suggest.kind.follow_up',
  birthday: 'suggest.kind.birthday',
  anniversary: 'suggest.kind.anniversary',
  welcome_back: 'suggest.kind.welcome_back',
  milestone: 'suggest.kind.milestone',
  reward_near: 'suggest.kind.reward_near',
  usual: 'suggest.kind.usual',
};

const OFFER_LABELS: Record<OfferKind, PlainKey> = {
  reward: 'suggest.kind.reward',
  campaign: 'suggest.kind.campaign',
  replenish: 'suggest.kind.replenish',
  discovery: 'suggest.kind.discovery',
};

export const promptLabel = (k: PromptKind): string => (PROMPT_LABELS[k] ? t(PROMPT_LABELS[k]) : k);
export const offerLabel = (k: OfferKind): string => (OFFER_LABELS[k] ? t(OFFER_LABELS[k]) : k);

/** What the accept button says: a line to add (spending points for a reward), or just Accept when it has none. */
export function acceptLabel(o: Pick<Offer, 'line' | 'points_cost'>): string {
  if (!o.line) return t('suggest.accept');
  return o.points_cost > 0 ? t('suggest.redeemAdd') : t('suggest.addToSale');
}

/**
 * Prompt and offer keys the cashier acted on, per customer, for as long as
 * the till window is open. Re-opening the profile hides them at once, even
 * when the engine has not seen the verdict yet (it is still on its way, or
 * it was recorded within the same second as the next request: the engine
 * only counts feedback strictly before the moment it computes for).
 */
export class ActedOn {
  private byCustomer = new Map<string, Set<string>>();
  keys(customerId: string): Set<string> {
    return new Set(this.byCustomer.get(customerId));
  }
  add(customerId: string, key: string): void {
    let s = this.byCustomer.get(customerId);
    if (!s) this.byCustomer.set(customerId, (s = new Set()));
    s.add(key);
  }
}

/** The till's one memory of what was acted on. */
export const actedOn = new ActedOn();
