// The one global keydown listener that catches scanner bursts anywhere in the
// app: no field focused, the search field focused, or inside a dialog.
//
// Characters of a burst reach whatever input had focus (we cannot know a key
// starts a burst until more keys follow), so every editable element the burst
// typed into is snapshotted before its first burst character and restored
// when the terminating Enter arrives. That Enter is swallowed, so no form
// submits and no note is saved by it.

import { ScanDetector, type ScannerOptions } from './scanner';

type Editable = HTMLInputElement | HTMLTextAreaElement;

interface Snapshot {
  value: string;
  start: number | null;
  end: number | null;
}

export interface ScanHit {
  code: string;
  /** When the terminating Enter was pressed, on the performance.now() clock. */
  enterAt: number;
  /** When the burst's first key arrived (same clock): the settings' scan test shows the speed. */
  startedAt: number;
  /** The element that had focus when the burst began (restored already). */
  focused: Element | null;
  /**
   * The input the burst was typed into, when it asked for scans to land in it
   * (`data-scan-target`), e.g. the card field of the enrol form.
   */
  target: Editable | null;
}

function editable(el: Element | null): Editable | null {
  if (el instanceof HTMLTextAreaElement) return el;
  if (el instanceof HTMLInputElement) {
    const t = el.type;
    if (t === 'text' || t === 'search' || t === 'tel' || t === 'email' || t === 'number' || t === 'url' || t === '') {
      return el;
    }
  }
  return null;
}

function snapshot(el: Editable): Snapshot {
  let start: number | null = null;
  let end: number | null = null;
  try {
    start = el.selectionStart;
    end = el.selectionEnd;
  } catch {
    // type=number/email inputs throw on selection access in some engines.
  }
  return { value: el.value, start, end };
}

function restore(el: Editable, snap: Snapshot): void {
  if (el.value === snap.value) return;
  el.value = snap.value;
  try {
    if (snap.start !== null && snap.end !== null) el.setSelectionRange(snap.start, snap.end);
  } catch {
    // see snapshot()
  }
  // Let bound state (Svelte bind:value) follow the restored value.
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Event timestamps are on the performance.now() clock in current engines; guard anyway. */
export function eventTime(e: Event): number {
  const now = performance.now();
  const t = e.timeStamp;
  return t > 0 && t <= now + 1 ? t : now;
}

export interface ScannerListener {
  /** True while the key event belongs to a possible burst (not a shortcut). */
  isBurstKey(e: KeyboardEvent): boolean;
  dispose(): void;
}

export function installScannerListener(
  onScan: (hit: ScanHit) => void,
  options: Partial<ScannerOptions> = {},
  target: Window = window,
): ScannerListener {
  const detector = new ScanDetector(options);
  let snapshots = new Map<Editable, Snapshot>();
  let focusedAtStart: Element | null = null;
  // The sequence before the current one: when its lone key turns out to be
  // the burst's late first key, its snapshots are the ones to restore.
  let previous: { snapshots: Map<Editable, Snapshot>; focused: Element | null } | null = null;
  const burstKeys = new WeakSet<KeyboardEvent>();

  function remember(): void {
    const el = editable(document.activeElement);
    if (el && !snapshots.has(el)) snapshots.set(el, snapshot(el));
  }

  function handler(e: KeyboardEvent): void {
    const r = detector.feed(e.key, eventTime(e), {
      ctrl: e.ctrlKey,
      alt: e.altKey,
      meta: e.metaKey,
      repeat: e.repeat,
      composing: e.isComposing,
    });
    switch (r.kind) {
      case 'start':
        previous = { snapshots, focused: focusedAtStart };
        snapshots = new Map();
        focusedAtStart = document.activeElement;
        remember();
        return;
      case 'continue':
        // Focus may have moved after the first key (a shortcut); keep the
        // new field's pre-burst value too.
        remember();
        burstKeys.add(e);
        return;
      case 'scan': {
        e.preventDefault();
        e.stopImmediatePropagation();
        const enterAt = eventTime(e);
        if (r.prefixed && previous) {
          // Earlier snapshots win: they hold the values from before the first key.
          for (const [el, snap] of snapshots) if (!previous.snapshots.has(el)) previous.snapshots.set(el, snap);
          snapshots = previous.snapshots;
          focusedAtStart = previous.focused;
        }
        previous = null;
        const scanTarget = [...snapshots.keys()].find((el) => el.dataset.scanTarget !== undefined) ?? null;
        for (const [el, snap] of snapshots) restore(el, snap);
        snapshots = new Map();
        const focused = focusedAtStart;
        focusedAtStart = null;
        if (focused instanceof HTMLElement && focused !== document.activeElement && focused.isConnected) {
          focused.focus();
        }
        onScan({ code: r.code, enterAt, startedAt: r.startedAt, focused, target: scanTarget });
        return;
      }
      case 'other':
        return;
    }
  }

  target.addEventListener('keydown', handler, { capture: true });
  return {
    isBurstKey: (e) => burstKeys.has(e),
    dispose: () => target.removeEventListener('keydown', handler, { capture: true }),
  };
}
