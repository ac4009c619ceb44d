// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installScannerListener, type ScanHit, type ScannerListener } from './scannerListener';

let hits: ScanHit[];
let listener: ScannerListener;
let clock: number;

beforeEach(() => {
  document.body.innerHTML = `
    <input id="search" value="smi" />
    <textarea id="note"></textarea>
    <input id="card" data-scan-target />`;
  hits = [];
  clock = 1000;
  listener = installScannerListener((h) => hits.push(h));
});
afterEach(() => listener.dispose());

/**
 * Presses a key the way a browser would: keydown first (our listener runs in
 * the capture phase), then, unless prevented, the character lands in the
 * focused field.
 */
function press(key: string, gap: number): KeyboardEvent {
  clock += gap;
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true });
  Object.defineProperty(e, 'timeStamp', { value: clock });
  (document.activeElement ?? document.body).dispatchEvent(e);
  const el = document.activeElement;
  if (!e.defaultPrevented && key.length === 1 && (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)) {
    el.value += key;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }
  return e;
}

function type(text: string, gap: number): void {
  for (const c of text) press(c, gap);
}

// Event times and performance.now() share one clock, driven by the test.
beforeEach(() => {
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
});
afterEach(() => vi.restoreAllMocks());

describe('installScannerListener', () => {
  it('restores the focused input and swallows the Enter of a burst', () => {
    const search = document.getElementById('search') as HTMLInputElement;
    search.focus();
    let inputs = 0;
    search.addEventListener('input', () => inputs++);
    type('2900000000017', 4);
    expect(search.value).toBe('smi2900000000017');
    const enter = press('Enter', 4);
    expect(enter.defaultPrevented).toBe(true);
    expect(search.value).toBe('smi');
    expect(inputs).toBeGreaterThan(13); // the restore told bound state too
    expect(hits.map((h) => h.code)).toEqual(['2900000000017']);
    expect(hits[0].target).toBeNull();
  });

  it('restores what a late first key typed too', () => {
    const search = document.getElementById('search') as HTMLInputElement;
    search.focus();
    press('5', 500); // the scanner's first key, delivered late
    expect(search.value).toBe('smi5');
    press('0', 45);
    type('12345999992', 3);
    press('Enter', 3);
    expect(search.value).toBe('smi');
    expect(hits.map((h) => h.code)).toEqual(['5012345999992']);
  });

  it('works with nothing focused', () => {
    (document.activeElement as HTMLElement | null)?.blur();
    type('LC-042', 3);
    press('Enter', 3);
    expect(hits.map((h) => h.code)).toEqual(['LC-042']);
  });

  it('leaves human typing and its Enter alone', () => {
    const note = document.getElementById('note') as HTMLTextAreaElement;
    note.focus();
    type('hello there', 150);
    const enter = press('Enter', 150);
    expect(enter.defaultPrevented).toBe(false);
    expect(note.value).toBe('hello there');
    expect(hits).toEqual([]);
  });

  it('keeps what a person typed before the scanner fired', () => {
    const note = document.getElementById('note') as HTMLTextAreaElement;
    note.focus();
    type('likes', 150);
    press('1', 300);
    type('2345678', 2);
    press('Enter', 2);
    expect(note.value).toBe('likes');
    expect(hits.map((h) => h.code)).toEqual(['12345678']);
  });

  it('reports scans into a data-scan-target field', () => {
    const card = document.getElementById('card') as HTMLInputElement;
    card.focus();
    type('2900000000017', 3);
    press('Enter', 3);
    expect(card.value).toBe('');
    expect(hits[0].target).toBe(card);
  });

  it('marks burst keys so shortcuts can ignore them', () => {
    const first = press('n', 500);
    const second = press('1', 3);
    expect(listener.isBurstKey(first)).toBe(false);
    expect(listener.isBurstKey(second)).toBe(true);
  });
});
