import { describe, expect, it } from 'vitest';
import { ScanDetector, stripAffixes, type ScanEvent, type KeyModifiers } from './scanner';

/** Feeds keys at given gaps (ms) and returns the scans seen. */
function play(d: ScanDetector, keys: Array<[string, number, KeyModifiers?]>, t0 = 1000): ScanEvent[] {
  let t = t0;
  const out: ScanEvent[] = [];
  for (const [key, gap, mods] of keys) {
    t += gap;
    out.push(d.feed(key, t, mods));
  }
  return out;
}

const scans = (evs: ScanEvent[]) =>
  evs.filter((e): e is Extract<ScanEvent, { kind: 'scan' }> => e.kind === 'scan').map((e) => e.code);

/** A scanner typing `code` with `gap` ms between keys, then Enter. */
function burst(code: string, gap = 4, firstGap = 500): Array<[string, number]> {
  return [...[...code].map((c, i): [string, number] => [c, i === 0 ? firstGap : gap]), ['Enter', gap]];
}

/** A person typing `text` with `gap` ms between keys. */
function human(text: string, gap = 120): Array<[string, number]> {
  return [...text].map((c): [string, number] => [c, gap]);
}

describe('ScanDetector', () => {
  it('detects a fast burst terminated by Enter', () => {
    const d = new ScanDetector();
    expect(scans(play(d, burst('2900000000017')))).toEqual(['2900000000017']);
  });

  it('detects alphanumeric legacy codes, with Shift pressed for capitals', () => {
    const d = new ScanDetector();
    const keys: Array<[string, number]> = [['Shift', 300], ['L', 3], ['Shift', 3], ['C', 3], ['-', 3], ['0', 3], ['4', 3], ['2', 3], ['Enter', 3]];
    expect(scans(play(d, keys))).toEqual(['LC-042']);
  });

  it('reports start for the first key and continue for the fast ones', () => {
    const d = new ScanDetector();
    const evs = play(d, burst('12345'));
    expect(evs.map((e) => e.kind)).toEqual(['start', 'continue', 'continue', 'continue', 'continue', 'scan']);
  });

  it('ignores human typing', () => {
    const d = new ScanDetector();
    expect(scans(play(d, human('2900000000017')))).toEqual([]);
    expect(d.pending.length).toBe(1);
  });

  it('ignores human typing that ends with Enter', () => {
    const d = new ScanDetector();
    expect(scans(play(d, [...human('smith'), ['Enter', 150]]))).toEqual([]);
    // even a fast Enter after slow typing is not a scan
    expect(scans(play(d, [...human('29000000'), ['Enter', 5]]))).toEqual([]);
  });

  it('ignores a burst that is too short', () => {
    const d = new ScanDetector();
    expect(scans(play(d, burst('123')))).toEqual([]);
    expect(scans(play(d, burst('1234')))).toEqual(['1234']);
  });

  it('ignores a burst without Enter, or with a late Enter', () => {
    const d = new ScanDetector();
    expect(scans(play(d, human('123456789', 5)))).toEqual([]);
    expect(scans(play(d, [...human('123456789', 5), ['Enter', 400]]))).toEqual([]);
  });

  it('honours the gap threshold exactly', () => {
    const d = new ScanDetector({ maxGapMs: 30, maxEnterGapMs: 30 });
    expect(scans(play(d, burst('123456', 29)))).toEqual(['123456']);
    expect(scans(play(d, burst('123456', 30)))).toEqual([]);
  });

  it('tolerates a late key inside a burst on a busy machine', () => {
    // measured through WebDriver on a loaded 2-core machine
    const gaps = [500, 9, 49, 11, 17, 48, 36, 36, 25, 19, 5, 10, 3, 3];
    const code = '2900000004146';
    const keys = [...code, 'Enter'].map((k, i): [string, number] => [k, gaps[i]]);
    expect(scans(play(new ScanDetector(), keys))).toEqual([code]);
  });

  it('does not tolerate slow keys before a burst is established, or a slow average', () => {
    const d = new ScanDetector();
    // first gap slow: no burst yet, so the sequence restarts at each key
    expect(scans(play(d, [['1', 500], ['2', 45], ['3', 5], ['4', 5], ['Enter', 5]]))).toEqual([]);
    // a rollover pair then human speed: the average is far above 30 ms
    expect(scans(play(d, [['1', 500], ['2', 15], ['3', 55], ['4', 55], ['5', 55], ['Enter', 40]]))).toEqual([]);
    // a gap over the jitter limit always breaks
    expect(scans(play(d, [['1', 500], ['2', 2], ['3', 2], ['4', 2], ['5', 60], ['6', 2], ['7', 2], ['Enter', 2]]))).toEqual([]);
  });

  it('tolerates a late Enter only within the jitter limit', () => {
    const d = new ScanDetector();
    expect(scans(play(d, [...[...'29000000'].map((c, i): [string, number] => [c, i ? 3 : 500]), ['Enter', 55]]))).toEqual(['29000000']);
    expect(scans(play(d, [...[...'29000000'].map((c, i): [string, number] => [c, i ? 3 : 500]), ['Enter', 61]]))).toEqual([]);
  });

  it('separates human typing followed directly by a scan', () => {
    const d = new ScanDetector();
    const keys = [...human('jo'), ...burst('2900000000017', 3, 400), ...human('hn'), ['Enter', 200] as [string, number]];
    expect(scans(play(d, keys))).toEqual(['2900000000017']);
  });

  it('a slow key just before a burst does not join it', () => {
    const d = new ScanDetector();
    const keys: Array<[string, number]> = [['x', 500], ['2', 200], ...burst('900000000017', 3, 3)];
    expect(scans(play(d, keys))).toEqual(['2900000000017']);
  });

  it('a late first key joins the burst that follows it', () => {
    const d = new ScanDetector();
    // measured shape: the first key alone, 45 ms, then the rest at scanner speed
    const keys: Array<[string, number]> = [['5', 500], ...burst('012345999992', 3, 45)];
    const evs = play(d, keys, 0);
    expect(scans(evs)).toEqual(['5012345999992']);
    expect(evs.find((e) => e.kind === 'scan')).toMatchObject({ startedAt: 500, prefixed: true });
  });

  it('a lone key joins only a burst that qualifies without it, and only when fast enough', () => {
    const d = new ScanDetector();
    // 3 fast keys are too short for a scan; the lone key does not make them one
    expect(scans(play(d, [['1', 500], ['2', 45], ['3', 5], ['4', 5], ['Enter', 5]]))).toEqual([]);
    // up to 150 ms late joins a long code; later does not
    expect(scans(play(d, [['7', 500], ...burst('2900000000017', 3, 149)]))).toEqual(['72900000000017']);
    expect(scans(play(d, [['7', 500], ...burst('2900000000017', 3, 150)]))).toEqual(['2900000000017']);
    // the last key of a person's typing never joins, however soon the scan follows
    expect(scans(play(d, [...human('thornton', 60), ...burst('2900000000017', 3, 40)]))).toEqual(['2900000000017']);
    // the till's shortcut keys never join ("3 *" then a quick scan)
    expect(scans(play(d, [['3', 500], ['*', 100], ...burst('2900000000017', 3, 40)]))).toEqual(['2900000000017']);
    // short burst whose average with the lone key would be too slow
    expect(scans(play(d, [['7', 500], ...burst('1234', 25, 59)]))).toEqual(['1234']);
    expect(scans(play(d, [['7', 500], ...burst('1234', 3, 59)]))).toEqual(['71234']);
    // two lone keys in a row are typing: neither joins
    expect(scans(play(d, [['a', 500], ['b', 45], ...burst('2900000000017', 3, 45)]))).toEqual(['2900000000017']);
  });

  it('handles two scans in a row and mixed sequences', () => {
    const d = new ScanDetector();
    const keys = [...burst('11112222'), ...human('abc'), ['Enter', 90] as [string, number], ...burst('33334444', 2, 50)];
    expect(scans(play(d, keys))).toEqual(['11112222', '33334444']);
  });

  it('breaks a burst on modifier chords, control keys and key repeat', () => {
    const d = new ScanDetector();
    expect(scans(play(d, [['1', 500], ['2', 3], ['c', 3, { ctrl: true }], ['3', 3], ['4', 3], ['Enter', 3]]))).toEqual([]);
    expect(scans(play(d, [['1', 500], ['2', 3], ['ArrowLeft', 3], ['3', 3], ['4', 3], ['Enter', 3]]))).toEqual([]);
    const held: Array<[string, number, KeyModifiers?]> = [['1', 500], ['1', 20, { repeat: true }], ['1', 20, { repeat: true }], ['1', 20, { repeat: true }], ['1', 20, { repeat: true }], ['Enter', 20]];
    expect(scans(play(d, held))).toEqual([]);
    expect(scans(play(d, [['5', 500], ['5', 3], ['5', 3], ['5', 3], ['Enter', 3, { ctrl: true }]]))).toEqual([]);
  });

  it('ignores IME composition', () => {
    const d = new ScanDetector();
    expect(scans(play(d, [['1', 500], ['2', 3], ['3', 3, { composing: true }], ['4', 3], ['Enter', 3]]))).toEqual([]);
  });

  it('needs a digit in the code unless told otherwise', () => {
    expect(scans(play(new ScanDetector(), burst('smith')))).toEqual([]);
    expect(scans(play(new ScanDetector(), burst('ABCD-1')))).toEqual(['ABCD-1']);
    expect(scans(play(new ScanDetector({ requireDigit: false }), burst('ABCDE')))).toEqual(['ABCDE']);
  });

  it('returns the burst start time', () => {
    const d = new ScanDetector();
    const evs = play(d, burst('98765', 2, 10), 0);
    const scan = evs.find((e) => e.kind === 'scan');
    expect(scan).toEqual({ kind: 'scan', code: '98765', startedAt: 10 });
  });
});

describe('scanner settings', () => {
  function burst(d: ScanDetector, keys: string[], t0 = 1000, gap = 5) {
    let r: ScanEvent = { kind: 'other' };
    keys.forEach((k, i) => (r = d.feed(k, t0 + i * gap)));
    return r;
  }
  it('ends a code with Tab when configured, and not with Enter then', () => {
    const tab = new ScanDetector({ terminator: 'Tab' });
    expect(burst(tab, [...'2900000000018', 'Tab'])).toMatchObject({ kind: 'scan', code: '2900000000018' });
    const tab2 = new ScanDetector({ terminator: 'Tab' });
    expect(burst(tab2, [...'2900000000018', 'Enter']).kind).toBe('other');
  });
  it('strips a configured prefix and suffix', () => {
    const d = new ScanDetector({ prefix: ']E0', suffix: '#' });
    expect(burst(d, [...']E02900000000018#', 'Enter'])).toMatchObject({ kind: 'scan', code: '2900000000018' });
    expect(stripAffixes('12345', ']E0', '#')).toBe('12345');
  });
});
