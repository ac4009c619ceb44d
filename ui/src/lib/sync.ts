// How the till's sync state reads: one line for the status bar ("Online,
// synced 2 min ago", "Offline, 14 changes waiting", "Not connected") from
// the SyncStatus the shell sends after every round. Pure functions over
// plain values; the words come from the catalogue.

import type { SyncStatus } from '../bindings/SyncStatus';
import { t, textLocale } from './i18n';
import { count, defaultLocale, parseIso, relativeDate } from './format';

export type SyncState = 'none' | 'syncing' | 'online' | 'offline';

export interface SyncLine {
  state: SyncState;
  text: string;
}

/** "just now", "2 min ago", "3 hr ago", then days ("yesterday", "3 days ago"). */
export function syncedAgo(iso: string, now = new Date(), locale = textLocale(defaultLocale())): string {
  const d = parseIso(iso);
  if (!d) return iso;
  const seconds = Math.max(0, (now.getTime() - d.getTime()) / 1000);
  if (seconds < 60) return t('sync.justNow');
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'always', style: 'short' });
  if (seconds < 3600) return rtf.format(-Math.floor(seconds / 60), 'minute');
  if (seconds < 12 * 3600) return rtf.format(-Math.floor(seconds / 3600), 'hour');
  return relativeDate(iso, now, locale);
}

/**
 * The status bar's line. `syncing`: a round was asked for ("Sync now") and
 * its result has not arrived yet. Offline means the last round failed
 * (`last_error`); what is waiting is counted either way.
 */
export function syncLine(s: SyncStatus | null, now = new Date(), syncing = false, locale = textLocale(defaultLocale())): SyncLine {
  if (!s || !s.enrolled) return { state: 'none', text: t('sync.notConnected') };
  if (syncing) return { state: 'syncing', text: t('sync.syncing') };
  const waiting = s.pending > 0 ? t('sync.waiting', { n: s.pending, count: count(s.pending, locale) }) : '';
  if (s.last_error) {
    return { state: 'offline', text: waiting ? t('sync.offlineWaiting', { waiting }) : t('sync.offline') };
  }
  const when = s.last_pull_at ? syncedAgo(s.last_pull_at, now, locale) : null;
  let text = when ? t('sync.onlineSynced', { when }) : t('sync.online');
  if (waiting) text = t('sync.onlineWaiting', { online: text, waiting });
  return { state: 'online', text };
}
