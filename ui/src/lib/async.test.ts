import { afterEach, describe, expect, it, vi } from 'vitest';
import { debounce, Latest } from './async';

afterEach(() => vi.useRealTimers());

describe('Latest', () => {
  it('only the newest ticket is current', () => {
    const l = new Latest();
    const a = l.next();
    const b = l.next();
    expect(l.isCurrent(a)).toBe(false);
    expect(l.isCurrent(b)).toBe(true);
    l.invalidate();
    expect(l.isCurrent(b)).toBe(false);
  });

  it('drops stale responses that arrive out of order', async () => {
    const l = new Latest();
    const rendered: string[] = [];
    const search = (q: string, delay: number) => {
      const t = l.next();
      return new Promise<void>((r) =>
        setTimeout(() => {
          if (l.isCurrent(t)) rendered.push(q);
          r();
        }, delay),
      );
    };
    await Promise.all([search('jo', 30), search('joh', 5), search('john', 15)]);
    expect(rendered).toEqual(['john']);
  });
});

describe('debounce', () => {
  it('runs once with the last arguments', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 40);
    d('a');
    d('ab');
    d('abc');
    expect(fn).not.toHaveBeenCalled();
    expect(d.pending).toBe(true);
    vi.advanceTimersByTime(40);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith('abc');
    expect(d.pending).toBe(false);
  });

  it('flushes and cancels', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 40);
    d('x');
    d.flush();
    expect(fn).toHaveBeenCalledWith('x');
    d('y');
    d.cancel();
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(1);
    d.flush();
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
