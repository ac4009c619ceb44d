// Timings the end-to-end tests and benchmarks read from the page.

export interface RegularsMetrics {
  /** Terminating Enter of a scan → profile painted, in ms. */
  scanToPaint: number[];
  /** Search keystroke → its results painted, in ms. */
  searchToPaint: number[];
}

declare global {
  interface Window {
    __regularsMetrics: RegularsMetrics;
  }
}

export function initMetrics(): RegularsMetrics {
  if (!window.__regularsMetrics) {
    window.__regularsMetrics = { scanToPaint: [], searchToPaint: [] };
  }
  return window.__regularsMetrics;
}

export function record(kind: keyof RegularsMetrics, startedAt: number): void {
  const ms = performance.now() - startedAt;
  initMetrics()[kind].push(Math.round(ms * 100) / 100);
}
