import { describe, expect, it } from 'vitest';
import type { DraftLine } from '../bindings/DraftLine';
import {
  addLine,
  BasketError,
  discountCents,
  discountText,
  formatQuantity,
  grossCents,
  itemCount,
  lineAmount,
  MAX_LINES,
  parseDiscount,
  parseMoney,
  parseQuantity,
  restoreLine,
  roundHalfAway,
  setDiscount,
  setQuantity,
  stepQuantity,
  toSaleDraft,
  totalCents,
  voidLine,
  type BasketLine,
} from './basket';

const draft = (product_id: string | null, price: number, quantity = 1, description = `item ${product_id}`): DraftLine => ({
  product_id,
  description,
  quantity,
  unit_price_cents: price,
  discount_cents: 0,
});

function basket(...drafts: DraftLine[]): BasketLine[] {
  let lines: BasketLine[] = [];
  for (const d of drafts) lines = addLine(lines, d).lines;
  return lines;
}

describe('amounts mirror checkout.rs', () => {
  it('rounds half away from zero like f64::round', () => {
    expect(roundHalfAway(2.5)).toBe(3);
    expect(roundHalfAway(-2.5)).toBe(-3);
    expect(roundHalfAway(408.5)).toBe(409);
    expect(roundHalfAway(-0.4)).toBe(-0);
  });

  it('matches the Rust line_amounts test table', () => {
    const l = (quantity: number, unit_price_cents: number, cents: number) => ({
      quantity,
      unit_price_cents,
      discount: cents ? ({ kind: 'amount', cents } as const) : ({ kind: 'none' } as const),
    });
    expect(lineAmount(l(2, 250, 0))).toBe(500);
    expect(lineAmount(l(0.455, 899, 0))).toBe(409); // 409.045
    expect(lineAmount(l(3, 100, 50))).toBe(250);
    expect(lineAmount(l(-1, 100, 0))).toBe(-100);
    expect(grossCents(1.5, 333)).toBe(500); // 499.5 rounds up
  });

  it('percent discounts are of the gross, rounded, never more than the line', () => {
    const line = { quantity: 3, unit_price_cents: 333, discount: { kind: 'percent', percent: 10 } as const };
    expect(discountCents(line)).toBe(100); // 99.9
    expect(lineAmount(line)).toBe(899);
    expect(discountCents({ ...line, discount: { kind: 'percent', percent: 100 } })).toBe(999);
    // An amount discount is capped when the quantity drops below it.
    expect(discountCents({ quantity: 1, unit_price_cents: 200, discount: { kind: 'amount', cents: 500 } })).toBe(200);
  });

  it('totals and item counts', () => {
    const lines = basket(draft('a', 250), draft('b', 899, 0.455), draft('a', 250));
    expect(totalCents(lines)).toBe(500 + 409);
    expect(itemCount(lines)).toBe(3); // 2 units + one weighed line
    expect(totalCents([])).toBe(0);
  });
});

describe('adding', () => {
  it('adds a new line for a new product and selects it', () => {
    const r = addLine(basket(draft('a', 100)), draft('b', 200));
    expect(r.index).toBe(1);
    expect(r.merged).toBe(false);
    expect(r.lines.map((l) => l.product_id)).toEqual(['a', 'b']);
  });

  it('the same product again counts up the last identical line', () => {
    const lines = basket(draft('a', 100), draft('b', 200));
    const r = addLine(lines, draft('a', 100));
    expect(r.merged).toBe(true);
    expect(r.index).toBe(0);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0].quantity).toBe(2);
    expect(r.lines[0].key).toBe(lines[0].key);
    expect(lines[0].quantity).toBe(1); // the input is not mutated
  });

  it('counts up the last identical line when there are several', () => {
    let lines = basket(draft('a', 100), draft('b', 200));
    lines = addLine(lines, draft('a', 100), 1).lines;
    // A manual line for the same product at another price is not identical.
    lines = [...lines, { ...lines[0], key: 999, unit_price_cents: 90, quantity: 1 }];
    const r = addLine(lines, draft('a', 90));
    expect(r.index).toBe(2);
    expect(r.lines[2].quantity).toBe(2);
  });

  it('keeps weighed labels and manual lines apart', () => {
    const w = basket(draft('w', 567, 1), draft('w', 612, 1));
    expect(w).toHaveLength(2); // same product, different label price
    const manual = basket(draft(null, 100, 1, 'bag'), draft(null, 100, 1, 'bag'));
    expect(manual).toHaveLength(2);
    const weighed = basket(draft('k', 899, 0.455), draft('k', 899, 0.455));
    expect(weighed).toHaveLength(2);
  });

  it('applies a multiplier (3 * scan)', () => {
    const r = addLine([], draft('a', 100), 3);
    expect(r.lines[0].quantity).toBe(3);
    const again = addLine(r.lines, draft('a', 100), 2);
    expect(again.lines[0].quantity).toBe(5);
    const half = addLine(again.lines, draft('a', 100), 0.5);
    expect(half.merged).toBe(false);
    expect(half.lines[1].quantity).toBe(0.5);
  });

  it('refuses silly quantities and too many lines', () => {
    expect(() => addLine([], draft('a', 100), 20_000)).toThrow(BasketError);
    expect(() => addLine([], draft('a', 100), 0)).toThrow(BasketError);
    const full: BasketLine[] = Array.from({ length: MAX_LINES }, (_, i) => ({
      key: -i - 1,
      product_id: `p${i}`,
      description: 'x',
      quantity: 1,
      unit_price_cents: 1,
      discount: { kind: 'none' },
    }));
    expect(() => addLine(full, draft('new', 1))).toThrow(/at most 500 lines/);
    // Counting up an existing line still works on a full sale.
    expect(addLine(full, draft('p3', 1)).lines[3].quantity).toBe(2);
  });
});

describe('editing', () => {
  it('sets and steps quantities', () => {
    let lines = basket(draft('a', 100));
    lines = stepQuantity(lines, 0, 1);
    expect(lines[0].quantity).toBe(2);
    lines = stepQuantity(lines, 0, -1);
    expect(lines[0].quantity).toBe(1);
    expect(() => stepQuantity(lines, 0, -1)).toThrow(/Void/);
    lines = setQuantity(lines, 0, 0.1 + 0.2);
    expect(lines[0].quantity).toBe(0.3);
    expect(() => setQuantity(lines, 0, -2)).toThrow(BasketError);
    expect(() => setQuantity(lines, 5, 2)).toThrow(/no longer/);
  });

  it('voids a line and can put it back', () => {
    const lines = basket(draft('a', 100), draft('b', 200), draft('c', 300));
    const { lines: after, removed } = voidLine(lines, 1);
    expect(after.map((l) => l.product_id)).toEqual(['a', 'c']);
    expect(removed.product_id).toBe('b');
    expect(restoreLine(after, 1, removed).map((l) => l.product_id)).toEqual(['a', 'b', 'c']);
    expect(() => voidLine(after, 7)).toThrow(BasketError);
  });

  it('sets discounts within the line value', () => {
    let lines = basket(draft('a', 250, 1));
    lines = setQuantity(lines, 0, 2);
    lines = setDiscount(lines, 0, { kind: 'amount', cents: 100 });
    expect(lineAmount(lines[0])).toBe(400);
    expect(() => setDiscount(lines, 0, { kind: 'amount', cents: 501 })).toThrow(/more than the line/);
    expect(() => setDiscount(lines, 0, { kind: 'percent', percent: 120 })).toThrow(BasketError);
    lines = setDiscount(lines, 0, { kind: 'percent', percent: 25 });
    expect(lineAmount(lines[0])).toBe(375);
    lines = setDiscount(lines, 0, { kind: 'amount', cents: 0 });
    expect(lines[0].discount).toEqual({ kind: 'none' });
  });
});

describe('the sale draft', () => {
  it('carries computed discounts and the customer', () => {
    let lines = basket(draft('a', 250), draft('a', 250), draft(null, 199, 1, 'Gift wrap'));
    lines = setDiscount(lines, 0, { kind: 'percent', percent: 10 });
    const d = toSaleDraft(lines, 'c1', 'cash');
    expect(d).toEqual({
      customer_id: 'c1',
      payment_method: 'cash',
      lines: [
        { product_id: 'a', description: 'item a', quantity: 2, unit_price_cents: 250, discount_cents: 50 },
        { product_id: null, description: 'Gift wrap', quantity: 1, unit_price_cents: 199, discount_cents: 0 },
      ],
    });
    expect(toSaleDraft([], null, 'card').customer_id).toBeNull();
  });
});

describe('what the cashier types', () => {
  it('quantities', () => {
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity(' 0.455 ')).toBe(0.455);
    expect(parseQuantity('1,5')).toBe(1.5);
    expect(parseQuantity('.5')).toBe(0.5);
    for (const bad of ['', '0', '-1', 'abc', '1.2345', '1e3', '20000', '1.2.3']) {
      expect(parseQuantity(bad), bad).toBeNull();
    }
  });

  it('money', () => {
    expect(parseMoney('1.50')).toBe(150);
    expect(parseMoney('$2')).toBe(200);
    expect(parseMoney('0,99')).toBe(99);
    expect(parseMoney('1.005')).toBeNull();
    expect(parseMoney('x')).toBeNull();
  });

  it('discounts: amount or percent in one field', () => {
    expect(parseDiscount('')).toEqual({ kind: 'none' });
    expect(parseDiscount('0')).toEqual({ kind: 'none' });
    expect(parseDiscount('10%')).toEqual({ kind: 'percent', percent: 10 });
    expect(parseDiscount('12.5 %')).toEqual({ kind: 'percent', percent: 12.5 });
    expect(parseDiscount('1.50')).toEqual({ kind: 'amount', cents: 150 });
    expect(parseDiscount('150%')).toBeNull();
    expect(parseDiscount('-1')).toBeNull();
    expect(discountText({ kind: 'percent', percent: 10 })).toBe('10%');
    expect(discountText({ kind: 'amount', cents: 150 })).toBe('1.50');
    expect(discountText({ kind: 'none' })).toBe('');
  });

  it('formats quantities without trailing zeros', () => {
    expect(formatQuantity(2)).toBe('2');
    expect(formatQuantity(0.455)).toBe('0.455');
    expect(formatQuantity(0.1 + 0.2)).toBe('0.3');
  });
});
