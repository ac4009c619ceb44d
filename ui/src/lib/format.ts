// Money, dates and little phrases, formatted with Intl for the till's locale.
// The words in the phrases come from the catalogue (lib/i18n). Money and
// numbers always follow the shop's locale; dates, whose month names and
// "3 days ago" are words, follow it too unless this till speaks another
// language (then that language's own style: see i18n `textLocale`).

import { t, textLocale } from './i18n';

/** The currency until the store says which (the shop's setting). */
export const CURRENCY = 'USD';
let shopCurrency = CURRENCY;

/** Used when the system's language is not a valid BCP 47 tag (e.g. "C" under LANG=C). */
export const FALLBACK_LOCALE = 'en-US';

/** A locale Intl accepts: the candidate if valid, else the fallback. */
export function safeLocale(candidate: string | null | undefined): string {
  if (!candidate) return FALLBACK_LOCALE;
  try {
    const [canonical] = Intl.getCanonicalLocales(candidate.replace(/_/g, '-').replace(/\..*$/, ''));
    return canonical ?? FALLBACK_LOCALE;
  } catch {
    return FALLBACK_LOCALE;
  }
}

let cachedLocale: string | null = null;

/**
 * Uses the shop's locale and currency (its settings, from the store's info)
 * for every date, number and amount shown from now on.
 */
export function configureFormat(
  locale: string | null | undefined,
  currency: string | null | undefined,
  storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null,
): boolean {
  const before = `${defaultLocale()}|${shopCurrency}`;
  if (locale) cachedLocale = safeLocale(locale);
  if (currency && /^[A-Z]{3}$/.test(currency)) shopCurrency = currency;
  const after = `${defaultLocale()}|${shopCurrency}`;
  try {
    // Remembered by this till, so the next start formats right from the
    // first frame (the store's answer comes a moment later).
    storage?.setItem(FORMAT_KEY, after);
  } catch {
    // storage full or unavailable: only the first frame is affected
  }
  return after !== before;
}

const FORMAT_KEY = 'regulars.format';

/** The shop's locale as this till last saw it (null on a till's first start). */
export function rememberedLocale(): string | null {
  try {
    const [locale] = (globalThis.localStorage?.getItem(FORMAT_KEY) ?? '').split('|');
    return locale ? safeLocale(locale) : null;
  } catch {
    return null;
  }
}

/** The locale and currency this till used last time, if it remembers them. */
function remembered(): void {
  try {
    const v = globalThis.localStorage?.getItem(FORMAT_KEY);
    const [locale, currency] = (v ?? '').split('|');
    if (locale) cachedLocale = safeLocale(locale);
    if (currency && /^[A-Z]{3}$/.test(currency)) shopCurrency = currency;
  } catch {
    // no storage (tests, a plain browser): the defaults
  }
}

/** The till's locale: the shop's, else the webview's language. */
export function defaultLocale(): string {
  if (cachedLocale === null) remembered();
  if (cachedLocale === null) {
    cachedLocale = safeLocale(typeof navigator !== 'undefined' ? navigator.language : null);
  }
  return cachedLocale;
}

const moneyCache = new Map<string, Intl.NumberFormat>();

export function money(cents: number, locale = defaultLocale(), currency = shopCurrency): string {
  const key = `${locale}|${currency}`;
  let f = moneyCache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency });
    moneyCache.set(key, f);
  }
  return f.format(cents / 100);
}

/**
 * Parses an ISO date or timestamp. A bare date ("2024-03-05") is a calendar
 * day in local time, not UTC midnight (which is the previous day west of UTC).
 */
export function parseIso(iso: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Whole calendar days from `now` to `d` (negative in the past). */
export function dayDiff(d: Date, now: Date): number {
  return Math.round((startOfDay(d) - startOfDay(now)) / 86_400_000);
}

/** "today", "yesterday", "3 days ago", "3 weeks ago", "in 2 days", "2 years ago". */
export function relativeDate(iso: string | null, now = new Date(), locale = textLocale(defaultLocale())): string {
  if (!iso) return t('format.never');
  const d = parseIso(iso);
  if (!d) return iso;
  const days = dayDiff(d, now);
  const abs = Math.abs(days);
  if (abs < 2) {
    return new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(days, 'day');
  }
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'always' });
  const sign = days < 0 ? -1 : 1;
  if (abs < 14) return rtf.format(days, 'day');
  if (abs < 60) return rtf.format(sign * Math.round(abs / 7), 'week');
  if (abs < 365) return rtf.format(sign * Math.round(abs / 30.44), 'month');
  return rtf.format(sign * Math.round(abs / 365.25), 'year');
}

/** "5 Mar 2024" style, in the till's locale (its words in the till's language). */
export function shortDate(iso: string | null, locale = textLocale(defaultLocale())): string {
  if (!iso) return '—';
  const d = parseIso(iso);
  if (!d) return iso;
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "March 2021" style. */
export function monthYear(iso: string | null, locale = textLocale(defaultLocale())): string {
  if (!iso) return '—';
  const d = parseIso(iso);
  if (!d) return iso;
  return d.toLocaleDateString(locale, { month: 'long', year: 'numeric' });
}

/** "12 visits · last 3 days ago", or "no visits yet". */
export function visitsLine(visits: number, lastVisit: string | null, now = new Date(), locale = textLocale(defaultLocale())): string {
  if (visits === 0) return t('format.noVisits');
  const v = t('format.visits', { n: visits });
  return lastVisit ? t('format.visitsLast', { visits: v, when: relativeDate(lastVisit, now, locale) }) : v;
}

export type FollowUpState = 'due' | 'soon' | 'later' | 'none';

/** Days ahead in which a follow-up counts as "soon". */
export const FOLLOW_UP_SOON_DAYS = 7;

export function followUpState(iso: string | null, now = new Date()): FollowUpState {
  if (!iso) return 'none';
  const d = parseIso(iso);
  if (!d) return 'none';
  const days = dayDiff(d, now);
  if (days <= 0) return 'due';
  if (days <= FOLLOW_UP_SOON_DAYS) return 'soon';
  return 'later';
}

/** Groups a card number for reading aloud: "2 900000 000017" for EAN-13. */
export function formatCard(code: string | null): string {
  if (!code) return '—';
  if (/^\d{13}$/.test(code)) return `${code.slice(0, 1)} ${code.slice(1, 7)} ${code.slice(7)}`;
  return code;
}

/** Local calendar date as YYYY-MM-DD (for <input type="date"> minimums). */
export function isoDay(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A whole number with the locale's grouping ("2,000"). */
export function count(n: number, locale = defaultLocale()): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** "9:05 AM" / "09:05" style time of day, in the till's locale (or language, when a till speaks another). */
export function timeOfDay(iso: string, locale = textLocale(defaultLocale())): string {
  const d = parseIso(iso);
  if (!d) return iso;
  return d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
}

/** True when the timestamp falls on today's local calendar date. */
export function isToday(iso: string, now = new Date()): boolean {
  const d = parseIso(iso);
  return d !== null && dayDiff(d, now) === 0;
}

/** How a sale was paid, as a phrase ("by cash" / "bar"). */
export function paidPhrase(m: 'cash' | 'card' | 'other'): string {
  return m === 'cash' ? t('format.byCash') : m === 'card' ? t('format.byCard') : t('format.byOther');
}

/** What a payment method is called at the till. */
export function paymentName(m: 'cash' | 'card' | 'other'): string {
  return m === 'cash' ? t('format.cash') : m === 'card' ? t('format.card') : t('format.other');
}
