// The till's sync status as Svelte state, shared by the status bar and the
// owner's Server settings: loaded once, then replaced by every `sync-status`
// event the shell sends after a round.

import type { SyncStatus } from '../bindings/SyncStatus';
import { onSyncStatus, syncNow, syncStatus } from './api';

export const sync = $state<{ status: SyncStatus | null; syncing: boolean }>({ status: null, syncing: false });

/** "Syncing…" stops after this long even if no round reports (the shell's request timeout is 60 s). */
const SYNCING_MAX_MS = 70_000;
let syncingTimer: ReturnType<typeof setTimeout> | undefined;

function settle(s: SyncStatus) {
  sync.status = s;
  sync.syncing = false;
  clearTimeout(syncingTimer);
}

/** Starts following the status; gives the function that stops. */
export async function watchSync(): Promise<() => void> {
  const stop = await onSyncStatus(settle);
  try {
    // After subscribing, so a round ending meanwhile is not missed.
    const s = await syncStatus();
    if (!sync.syncing) sync.status = s;
  } catch {
    // No store (its error is on screen already): the status stays unknown.
  }
  return () => {
    stop();
    clearTimeout(syncingTimer);
  };
}

/** "Sync now": shows "Syncing…" until the round's status arrives. */
export async function requestSync(): Promise<void> {
  sync.syncing = true;
  clearTimeout(syncingTimer);
  syncingTimer = setTimeout(() => (sync.syncing = false), SYNCING_MAX_MS);
  try {
    await syncNow();
  } catch {
    sync.syncing = false;
  }
}

/** A status the UI got from a command (enroll) rather than an event. */
export function setSyncStatus(s: SyncStatus) {
  sync.status = s;
}
