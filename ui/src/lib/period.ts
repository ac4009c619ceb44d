// Periods the owner picks on the dashboard, as inclusive ISO day ranges.
// Pure, so it is unit-tested; `today` is passed in.

import { isoDay } from './format';
import { t } from './i18n';

export type PeriodKind = 'last7' | 'last30' | 'this_month' | 'last_month' | 'custom';

export interface Period {
  from: string;
  to: string;
}

function addDays(d: Date, n: number): Date {
  const c = new Date(d);
  c.setDate(c.getDate() + n);
  return c;
}

/** The inclusive day range of a named period ending on or around `today`. */
export function periodRange(kind: Exclude<PeriodKind, 'custom'>, today: Date): Period {
  switch (kind) {
    case 'last7':
      return { from: isoDay(addDays(today, -6)), to: isoDay(today) };
    case 'last30':
      return { from: isoDay(addDays(today, -29)), to: isoDay(today) };
    case 'this_month':
      return { from: isoDay(new Date(today.getFullYear(), today.getMonth(), 1)), to: isoDay(today) };
    case 'last_month': {
      const first = new Date(today.getFullYear(), today.getMonth() - 1, 1);
      const last = new Date(today.getFullYear(), today.getMonth(), 0);
      return { from: isoDay(first), to: isoDay(last) };
    }
  }
}

/** Change against the previous period as a signed percentage text ("+12%", "−5%", "new"). */
export function change(now: number, before: number): string {
  if (before === 0) return now === 0 ? '±0%' : t('overview.changeNew');
  const pct = Math.round(((now - before) / before) * 100);
  if (pct === 0) return '±0%';
  return pct > 0 ? `+${pct}%` : `−${Math.abs(pct)}%`;
}
