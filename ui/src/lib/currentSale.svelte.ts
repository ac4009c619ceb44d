// The sale on the till right now: the basket's lines (rules in basket.ts),
// who it is for, how they pay, and the sale just completed. One instance
// lives in App.svelte and is shared with the basket panel.

import { t } from './i18n';
import type { DraftLine } from '../bindings/DraftLine';
import type { PaymentMethod } from '../bindings/PaymentMethod';
import type { Profile } from '../bindings/Profile';
import type { Sale } from '../bindings/Sale';
import { completeSale } from './api';
import {
  addLine,
  BasketError,
  itemCount,
  restoreLine,
  setDiscount,
  setQuantity,
  stepQuantity,
  toSaleDraft,
  totalCents,
  voidLine,
  type BasketLine,
  type Discount,
} from './basket';

/** The payment method a new sale starts with. */
export const DEFAULT_PAYMENT: PaymentMethod = 'card';

export interface SaleCustomer {
  id: string;
  name: string;
  card: string | null;
}

export function saleCustomer(p: Profile): SaleCustomer {
  return { id: p.summary.id, name: p.summary.display_name, card: p.summary.card };
}

export class CurrentSale {
  lines = $state<BasketLine[]>([]);
  /** Key of the selected line (the last one added, or the one clicked). */
  selectedKey = $state<number | null>(null);
  customer = $state<SaleCustomer | null>(null);
  payment = $state<PaymentMethod>(DEFAULT_PAYMENT);
  /** "3 *" typed before a scan: the next item counts this many times. */
  multiplier = $state<number | null>(null);
  /** A completion is in flight (a second F9 must not sell twice). */
  completing = $state(false);
  /** The sale just completed, until the next item starts a new one. */
  done = $state<Sale | null>(null);
  /** The last voided line, for Undo. */
  lastVoid = $state<{ line: BasketLine; index: number } | null>(null);
  /** Bumped on every add, so the panel can flash and scroll to the line. */
  lastAdded = $state<{ key: number; n: number } | null>(null);

  total = $derived(totalCents(this.lines));
  items = $derived(itemCount(this.lines));
  selectedIndex = $derived(this.lines.findIndex((l) => l.key === this.selectedKey));

  private editable(): void {
    if (this.completing) throw new BasketError(t('basket.err.completingScan'));
  }

  /**
   * Adds a scanned or searched item (times the pending multiplier). An
   * offer's line (`{ multiplier: false }`) goes on as it is and leaves a
   * pending `3 *` for the next scan.
   */
  add(draft: DraftLine, opts: { multiplier?: boolean } = {}): { line: BasketLine; merged: boolean } {
    this.editable();
    const useMultiplier = opts.multiplier ?? true;
    const r = addLine(this.lines, draft, useMultiplier ? (this.multiplier ?? 1) : 1);
    this.lines = r.lines;
    if (useMultiplier) this.multiplier = null;
    this.done = null;
    this.lastVoid = null;
    const line = r.lines[r.index];
    this.selectedKey = line.key;
    this.lastAdded = { key: line.key, n: (this.lastAdded?.n ?? 0) + 1 };
    return { line, merged: r.merged };
  }

  select(index: number): void {
    const l = this.lines[index];
    if (l) this.selectedKey = l.key;
  }

  /** Moves the selection up or down the list. */
  move(delta: number): void {
    if (!this.lines.length) return;
    const i = this.selectedIndex < 0 ? this.lines.length - 1 : this.selectedIndex;
    this.select(Math.min(Math.max(i + delta, 0), this.lines.length - 1));
  }

  private at(index: number | undefined): number {
    const i = index ?? this.selectedIndex;
    if (i < 0 || i >= this.lines.length) throw new BasketError(t('basket.err.selectLine'));
    return i;
  }

  setQuantity(quantity: number, index?: number): void {
    this.editable();
    this.lines = setQuantity(this.lines, this.at(index), quantity);
  }

  step(delta: 1 | -1, index?: number): void {
    this.editable();
    this.lines = stepQuantity(this.lines, this.at(index), delta);
  }

  setDiscount(discount: Discount, index?: number): void {
    this.editable();
    this.lines = setDiscount(this.lines, this.at(index), discount);
  }

  /** Takes a line off the sale (the selected one by default); the neighbour below gets selected. */
  voidLine(index?: number): BasketLine {
    this.editable();
    const i = this.at(index);
    const r = voidLine(this.lines, i);
    this.lines = r.lines;
    this.lastVoid = { line: r.removed, index: i };
    const next = r.lines[Math.min(i, r.lines.length - 1)];
    this.selectedKey = next ? next.key : null;
    return r.removed;
  }

  undoVoid(): BasketLine | null {
    const v = this.lastVoid;
    if (!v) return null;
    this.lines = restoreLine(this.lines, v.index, v.line);
    this.selectedKey = v.line.key;
    this.lastVoid = null;
    this.done = null;
    return v.line;
  }

  attach(c: SaleCustomer): void {
    this.customer = c;
  }

  detach(): void {
    this.customer = null;
  }

  /** Empties the basket for the next customer. */
  clear(): void {
    this.lines = [];
    this.selectedKey = null;
    this.customer = null;
    this.payment = DEFAULT_PAYMENT;
    this.multiplier = null;
    this.lastVoid = null;
  }

  /**
   * Completes the sale on the server; on success the basket is cleared and
   * `done` holds the sale. Throws BasketError/ApiError otherwise (the basket
   * is kept as it was).
   */
  async complete(): Promise<Sale> {
    if (this.completing) throw new BasketError(t('basket.err.completing'));
    if (!this.lines.length) throw new BasketError(t('till.nothingToSell'));
    this.completing = true;
    try {
      const sale = await completeSale(toSaleDraft(this.lines, this.customer?.id ?? null, this.payment));
      this.clear();
      this.done = sale;
      return sale;
    } finally {
      this.completing = false;
    }
  }
}
