// Timings the end-to-end tests and benchmarks read from the page.

export interface RegularsMetrics {
  /** Terminating Enter of a scan → profile painted, in ms. */
  scanToPaint: number[];
  /** Search keystroke → its results painted, in ms. */
  searchToPaint: number[];
  /** Terminating Enter of a product scan → its basket line painted, in ms. */
  productToPaint: number[];
  /** Back office: period chosen (or tab opened) → dashboard figures and charts painted, in ms. */
  dashboardToPaint: number[];
}

declare global {
  interface Window {
    __regularsMetrics: RegularsMetrics;
  }
}

export function initMetrics(): RegularsMetrics {
  if (!window.__regularsMetrics) {
    window.__regularsMetrics = { scanToPaint: [], searchToPaint: [], productToPaint: [], dashboardToPaint: [] };
  }
  return window.__regularsMetrics;
}

export function record(kind: keyof RegularsMetrics, startedAt: number): void {
  const ms = performance.now() - startedAt;
  initMetrics()[kind].push(Math.round(ms * 100) / 100);
}
