// The sale being rung up at the till, as pure functions over an array of
// lines (every change returns a new array, so the UI and the tests see the
// same rules).
//
// Amounts mirror the Rust rules in `crates/regulars-core/src/checkout.rs`:
// gross = round(quantity × unit price) half away from zero, to the cent;
// amount = gross − discount; a discount is never more than the line is
// worth. The server recomputes everything when the sale completes (and takes
// catalogue prices), so these figures are what the cashier sees meanwhile.

import { t } from './i18n';
import type { DraftLine } from '../bindings/DraftLine';
import type { PaymentMethod } from '../bindings/PaymentMethod';
import type { SaleDraft } from '../bindings/SaleDraft';

/** Largest quantity on one line (`checkout::MAX_QUANTITY`). */
export const MAX_QUANTITY = 10_000;
/** Most lines in one sale (`checkout::MAX_LINES`). */
export const MAX_LINES = 500;
/** Decimals a quantity may have (grams of a kilo, thousandths of a pound). */
export const QUANTITY_DECIMALS = 3;

export type Discount =
  | { kind: 'none' }
  | { kind: 'amount'; cents: number }
  | { kind: 'percent'; percent: number };

export const NO_DISCOUNT: Discount = { kind: 'none' };

export interface BasketLine {
  /** Stable identity for rendering and selection (indexes move on void). */
  key: number;
  product_id: string | null;
  description: string;
  /** Units, or a weight for weighed goods. */
  quantity: number;
  unit_price_cents: number;
  discount: Discount;
}

/** A rule of the basket was broken; `message` is for the cashier. */
export class BasketError extends Error {}

let nextKey = 1;
/** A fresh line key (unique for the page's lifetime). */
export function newKey(): number {
  return nextKey++;
}

/** Rounds half away from zero, like Rust's `f64::round`. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** `checkout::gross_cents`. */
export function grossCents(quantity: number, unitPriceCents: number): number {
  return roundHalfAway(quantity * unitPriceCents);
}

/** The discount in cents a line gets (a percent is of the line's gross; never more than the gross). */
export function discountCents(line: Pick<BasketLine, 'quantity' | 'unit_price_cents' | 'discount'>): number {
  const gross = Math.abs(grossCents(line.quantity, line.unit_price_cents));
  const d = line.discount;
  switch (d.kind) {
    case 'none':
      return 0;
    case 'amount':
      return Math.min(Math.max(0, Math.round(d.cents)), gross);
    case 'percent':
      return Math.min(roundHalfAway((gross * d.percent) / 100), gross);
  }
}

/** `checkout::line_amount`: gross less discount. */
export function lineAmount(line: Pick<BasketLine, 'quantity' | 'unit_price_cents' | 'discount'>): number {
  const gross = grossCents(line.quantity, line.unit_price_cents);
  const off = discountCents(line);
  return gross < 0 ? gross + off : gross - off;
}

export function totalCents(lines: readonly BasketLine[]): number {
  return lines.reduce((sum, l) => sum + lineAmount(l), 0);
}

/** Units in the basket, counting a weighed line as one item. */
export function itemCount(lines: readonly BasketLine[]): number {
  return lines.reduce((n, l) => n + (Number.isInteger(l.quantity) ? l.quantity : 1), 0);
}

/** Rounds a quantity to the decimals a till keeps (0.1 + 0.2 must be 0.3). */
export function cleanQuantity(q: number): number {
  const f = 10 ** QUANTITY_DECIMALS;
  return Math.round(q * f) / f;
}

function checkQuantity(q: number): number {
  if (!Number.isFinite(q) || q <= 0) throw new BasketError(t('basket.err.quantityZero'));
  if (q > MAX_QUANTITY) throw new BasketError(t('basket.err.quantityMax', { max: MAX_QUANTITY.toLocaleString('en-US') }));
  return cleanQuantity(q);
}

/** Can a scan of `draft` be counted on `line` instead of making a new line? */
function sameItem(line: BasketLine, draft: DraftLine): boolean {
  return (
    line.product_id !== null &&
    line.product_id === draft.product_id &&
    line.unit_price_cents === draft.unit_price_cents &&
    // Weighed goods (a fractional quantity) are separate lines per label.
    Number.isInteger(line.quantity) &&
    Number.isInteger(draft.quantity)
  );
}

export interface Added {
  lines: BasketLine[];
  /** Index of the line that was added or counted up. */
  index: number;
  /** True when an identical line's quantity went up instead of a new line. */
  merged: boolean;
}

/**
 * Adds what a scan (or a product search) gave, `times` over. The same
 * catalogue item at the same price counts up the last identical line.
 */
export function addLine(lines: readonly BasketLine[], draft: DraftLine, times = 1): Added {
  const qty = checkQuantity(draft.quantity * times);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (sameItem(l, draft) && Number.isInteger(qty)) {
      const quantity = checkQuantity(l.quantity + qty);
      const next = lines.slice();
      next[i] = { ...l, quantity };
      return { lines: next, index: i, merged: true };
    }
  }
  if (lines.length >= MAX_LINES) {
    throw new BasketError(t('basket.err.maxLines', { max: MAX_LINES }));
  }
  const line: BasketLine = {
    key: newKey(),
    product_id: draft.product_id,
    description: draft.description,
    quantity: qty,
    unit_price_cents: draft.unit_price_cents,
    discount: draft.discount_cents > 0 ? { kind: 'amount', cents: draft.discount_cents } : NO_DISCOUNT,
  };
  return { lines: [...lines, line], index: lines.length, merged: false };
}

function replace(lines: readonly BasketLine[], index: number, f: (l: BasketLine) => BasketLine): BasketLine[] {
  const l = lines[index];
  if (!l) throw new BasketError(t('basket.err.lineGone'));
  const next = lines.slice();
  next[index] = f(l);
  return next;
}

export function setQuantity(lines: readonly BasketLine[], index: number, quantity: number): BasketLine[] {
  const q = checkQuantity(quantity);
  return replace(lines, index, (l) => ({ ...l, quantity: q }));
}

/**
 * The +/- buttons: one unit more or less. Never below one unit (or below
 * the weight, for a weighed line): taking a line off is a void.
 */
export function stepQuantity(lines: readonly BasketLine[], index: number, delta: 1 | -1): BasketLine[] {
  const l = lines[index];
  if (!l) throw new BasketError(t('basket.err.lineGone'));
  const q = cleanQuantity(l.quantity + delta);
  if (q <= 0 || (delta < 0 && q < 1 && Number.isInteger(l.quantity))) {
    throw new BasketError(t('basket.err.lastOne'));
  }
  return setQuantity(lines, index, q);
}

export function voidLine(lines: readonly BasketLine[], index: number): { lines: BasketLine[]; removed: BasketLine } {
  const removed = lines[index];
  if (!removed) throw new BasketError(t('basket.err.lineGone'));
  return { lines: lines.filter((_, i) => i !== index), removed };
}

/** Puts a voided line back where it was (undo). */
export function restoreLine(lines: readonly BasketLine[], index: number, line: BasketLine): BasketLine[] {
  const next = lines.slice();
  next.splice(Math.min(Math.max(index, 0), next.length), 0, line);
  return next;
}

export function setDiscount(lines: readonly BasketLine[], index: number, discount: Discount): BasketLine[] {
  return replace(lines, index, (l) => {
    const gross = Math.abs(grossCents(l.quantity, l.unit_price_cents));
    if (discount.kind === 'amount') {
      if (!Number.isInteger(discount.cents) || discount.cents < 0) throw new BasketError(t('basket.err.discountNegative'));
      if (discount.cents > gross) throw new BasketError(t('basket.err.discountTooBig'));
      if (discount.cents === 0) return { ...l, discount: NO_DISCOUNT };
    } else if (discount.kind === 'percent') {
      if (!Number.isFinite(discount.percent) || discount.percent < 0 || discount.percent > 100) {
        throw new BasketError(t('basket.err.percent'));
      }
      if (discount.percent === 0) return { ...l, discount: NO_DISCOUNT };
    }
    return { ...l, discount };
  });
}

/** What the till sends to `complete_sale`. */
export function toSaleDraft(
  lines: readonly BasketLine[],
  customerId: string | null,
  paymentMethod: PaymentMethod,
): SaleDraft {
  return {
    customer_id: customerId,
    payment_method: paymentMethod,
    lines: lines.map((l) => ({
      product_id: l.product_id,
      description: l.description,
      quantity: l.quantity,
      unit_price_cents: l.unit_price_cents,
      discount_cents: discountCents(l),
    })),
  };
}

// ----- what the cashier types

/** A number as typed at a till: "2", "0.455", "1,5" (a comma as the decimal mark). */
function parseNumber(text: string): number | null {
  const t = text.trim().replace(/\s/g, '');
  if (!/^\d+(?:[.,]\d*)?$|^[.,]\d+$/.test(t)) return null;
  const n = Number(t.replace(',', '.'));
  return Number.isFinite(n) ? n : null;
}

/** A quantity typed in the line's field: positive, at most 3 decimals, within the limit. */
export function parseQuantity(text: string): number | null {
  const n = parseNumber(text);
  if (n === null || n <= 0 || n > MAX_QUANTITY) return null;
  const decimals = (text.trim().split(/[.,]/)[1] ?? '').length;
  if (decimals > QUANTITY_DECIMALS) return null;
  return cleanQuantity(n);
}

/** Money typed by the cashier ("1.50", "$2", "0,99") in cents. */
export function parseMoney(text: string): number | null {
  const t = text.trim().replace(/^[$€£]\s*/, '');
  const n = parseNumber(t);
  if (n === null) return null;
  const decimals = (t.split(/[.,]/)[1] ?? '').length;
  if (decimals > 2) return null;
  return Math.round(n * 100);
}

/**
 * A discount typed in one field: "10%" is a percentage, "1.50" an amount;
 * empty or zero is no discount. Null when it is not a discount at all.
 */
export function parseDiscount(text: string): Discount | null {
  const t = text.trim();
  if (t === '') return NO_DISCOUNT;
  if (t.endsWith('%')) {
    const n = parseNumber(t.slice(0, -1));
    if (n === null || n > 100) return null;
    return n === 0 ? NO_DISCOUNT : { kind: 'percent', percent: n };
  }
  const cents = parseMoney(t);
  if (cents === null) return null;
  return cents === 0 ? NO_DISCOUNT : { kind: 'amount', cents };
}

/** The discount as the cashier typed it, for the field ("10%", "1.50"). */
export function discountText(d: Discount): string {
  switch (d.kind) {
    case 'none':
      return '';
    case 'percent':
      return `${d.percent}%`;
    case 'amount':
      return (d.cents / 100).toFixed(2);
  }
}

/** "2", "0.455", "1.5": no trailing zeros. */
export function formatQuantity(q: number): string {
  return String(cleanQuantity(q));
}
