// Small helpers for search-as-you-type: debounce, and only-the-latest-wins.

/** Hands out increasing tickets; only the newest ticket is current. */
export class Latest {
  private n = 0;
  /** Starts a new request, making every older ticket stale. */
  next(): number {
    return ++this.n;
  }
  isCurrent(ticket: number): boolean {
    return ticket === this.n;
  }
  /** Makes every ticket handed out so far stale. */
  invalidate(): void {
    this.n++;
  }
}

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  /** Runs the pending call now, if any. */
  flush(): void;
  cancel(): void;
  readonly pending: boolean;
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastArgs: A | null = null;
  const run = () => {
    timer = null;
    const args = lastArgs;
    lastArgs = null;
    if (args) fn(...args);
  };
  const d = ((...args: A) => {
    lastArgs = args;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(run, ms);
  }) as Debounced<A>;
  d.flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      run();
    }
  };
  d.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    lastArgs = null;
  };
  Object.defineProperty(d, 'pending', { get: () => timer !== null });
  return d;
}

/** Resolves after the DOM change has been painted (two animation frames). */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
}
