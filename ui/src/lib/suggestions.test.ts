import { describe, expect, it } from 'vitest';
import type { Offer } from '../bindings/Offer';
import { acceptLabel, ActedOn, basketProductIds, promptShortcut, ShownOnce, visible } from './suggestions';

const offer = (key: string): Offer => ({
  key,
  kind: 'replenish',
  product_id: 'p1',
  text: 't',
  reason: 'r',
  score: 1,
  points_cost: 0,
  line: { product_id: 'p1', description: 'Tea', quantity: 1, unit_price_cents: 100, discount_cents: 0 },
});

const key = (k: Partial<KeyboardEvent>) => ({
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  key: '',
  code: '',
  ...k,
});

describe('basketProductIds', () => {
  it('is distinct, sorted and skips manual lines', () => {
    expect(basketProductIds([{ product_id: 'b' }, { product_id: null }, { product_id: 'a' }, { product_id: 'b' }])).toEqual([
      'a',
      'b',
    ]);
    expect(basketProductIds([])).toEqual([]);
  });
});

describe('ShownOnce', () => {
  it('reports each offer key once per opening', () => {
    const s = new ShownOnce();
    expect(s.fresh([offer('a'), offer('b')]).map((o) => o.key)).toEqual(['a', 'b']);
    expect(s.fresh([offer('b'), offer('c')]).map((o) => o.key)).toEqual(['c']);
    expect(s.fresh([offer('a')])).toEqual([]);
    expect(new ShownOnce().fresh([offer('a')]).length).toBe(1);
  });
});

describe('visible', () => {
  it('drops handled keys and caps', () => {
    const items = [{ key: 'a' }, { key: 'b' }, { key: 'c' }, { key: 'd' }];
    expect(visible(items, new Set(['b']), 2)).toEqual([{ key: 'a' }, { key: 'c' }]);
    expect(visible(items, new Set(), 3).length).toBe(3);
  });
});

describe('promptShortcut', () => {
  it('maps Alt+1..3 by code or key', () => {
    expect(promptShortcut(key({ altKey: true, code: 'Digit1', key: '1' }))).toBe(0);
    expect(promptShortcut(key({ altKey: true, code: 'Digit3', key: '¹' }))).toBe(2);
    expect(promptShortcut(key({ altKey: true, code: 'Numpad2', key: '2' }))).toBe(1);
    expect(promptShortcut(key({ altKey: true, key: '2' }))).toBe(1);
  });
  it('ignores other keys and modifiers', () => {
    expect(promptShortcut(key({ code: 'Digit1', key: '1' }))).toBeNull();
    expect(promptShortcut(key({ altKey: true, ctrlKey: true, code: 'Digit1', key: '1' }))).toBeNull();
    expect(promptShortcut(key({ altKey: true, shiftKey: true, code: 'Digit1', key: '!' }))).toBeNull();
    expect(promptShortcut(key({ altKey: true, code: 'Digit4', key: '4' }))).toBeNull();
    expect(promptShortcut(key({ altKey: true, code: 'KeyA', key: 'a' }))).toBeNull();
  });
});

describe('acceptLabel', () => {
  it('says what the tap does', () => {
    expect(acceptLabel(offer('a'))).toBe('Add to sale');
    expect(acceptLabel({ ...offer('a'), points_cost: 200 })).toBe('Redeem & add');
    expect(acceptLabel({ ...offer('a'), line: null })).toBe('Accept');
  });
});

describe('ActedOn', () => {
  it('remembers keys per customer and hands out copies', () => {
    const a = new ActedOn();
    expect(a.keys('c1').size).toBe(0);
    a.add('c1', 'follow_up:x');
    a.add('c2', 'usual:y');
    const k = a.keys('c1');
    expect([...k]).toEqual(['follow_up:x']);
    k.add('other');
    expect(a.keys('c1').has('other')).toBe(false);
    expect([...a.keys('c2')]).toEqual(['usual:y']);
  });
});
