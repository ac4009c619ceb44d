import { describe, expect, it } from 'vitest';
import { syncedAgo, syncLine } from './sync';
import { setShopLocale, setTillLanguage } from './i18n';
import type { SyncStatus } from '../bindings/SyncStatus';

const now = new Date('2025-06-15T14:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

function status(over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    enrolled: true,
    server: 'http://127.0.0.1:8080',
    store_name: 'Shop',
    device_number: 2,
    last_push_at: ago(120),
    last_pull_at: ago(120),
    last_error: null,
    cursor: 10,
    pending: 0,
    rejected: 0,
    conflicts: 0,
    ...over,
  };
}

describe('syncedAgo', () => {
  it('says how long ago in minutes and hours, then in days', () => {
    setTillLanguage('en');
    expect(syncedAgo(ago(5), now, 'en-GB')).toBe('just now');
    expect(syncedAgo(ago(59), now, 'en-GB')).toBe('just now');
    expect(syncedAgo(ago(120), now, 'en-GB')).toBe('2 min ago');
    expect(syncedAgo(ago(3 * 3600 + 60), now, 'en-GB')).toBe('3 hr ago');
    expect(syncedAgo(ago(3 * 86400), now, 'en-GB')).toBe('3 days ago');
    // A server clock a little ahead never reads "in 1 min".
    expect(syncedAgo(ago(-30), now, 'en-GB')).toBe('just now');
    expect(syncedAgo('nonsense', now, 'en-GB')).toBe('nonsense');
  });
});

describe('syncLine', () => {
  const table: [string, SyncStatus | null, boolean, string, string][] = [
    ['no status yet', null, false, 'none', 'Not connected'],
    ['not enrolled', status({ enrolled: false, pending: 14 }), false, 'none', 'Not connected'],
    ['online', status(), false, 'online', 'Online, synced 2 min ago'],
    ['online, never pulled', status({ last_pull_at: null }), false, 'online', 'Online'],
    ['online, one waiting', status({ pending: 1 }), false, 'online', 'Online, synced 2 min ago · 1 change waiting'],
    ['offline with changes', status({ last_error: 'cannot reach the server', pending: 14 }), false, 'offline', 'Offline, 14 changes waiting'],
    ['offline, thousands', status({ last_error: 'x', pending: 1234 }), false, 'offline', 'Offline, 1,234 changes waiting'],
    ['offline, nothing waiting', status({ last_error: 'x' }), false, 'offline', 'Offline'],
    ['sync asked for', status({ last_error: 'x', pending: 3 }), true, 'syncing', 'Syncing…'],
  ];
  for (const [name, s, syncing, state, text] of table) {
    it(name, () => {
      setTillLanguage('en');
      expect(syncLine(s, now, syncing, 'en-GB')).toEqual({ state, text });
    });
  }

  it('speaks German', () => {
    setTillLanguage('de');
    expect(syncLine(status(), now, false, 'de-DE').text).toBe('Online, abgeglichen vor 2 Min.');
    expect(syncLine(status({ last_error: 'x', pending: 14 }), now, false, 'de-DE').text).toBe('Offline, 14 Änderungen warten');
    expect(syncLine(status({ enrolled: false }), now, false, 'de-DE').text).toBe('Nicht verbunden');
    setTillLanguage('shop');
    setShopLocale('en-US');
  });
});
