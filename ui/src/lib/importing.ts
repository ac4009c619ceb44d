// Pure helpers of the "Import from the old POS" dialog: what is sent to
// `import_files`, and how progress and the report read.

import type { ImportReport } from '../bindings/ImportReport';
import type { Progress } from '../bindings/Progress';
import { count } from './format';
import { t } from './i18n';

/** The mapping select's values ("file" means a TOML mapping file typed in another field). */
export type MappingChoice = 'customers' | 'generic' | 'completejourney' | 'file';

/** The mapping choices, worded in the till's language (call it where it is shown, so it follows a switch). */
export const mappingChoices = (): readonly { value: MappingChoice; label: string; hint: string; placeholder: string }[] => [
  {
    value: 'customers',
    label: t('import.mapCustomers'),
    hint: t('import.mapCustomersHint'),
    placeholder: '/home/shop/exports/customers.csv',
  },
  {
    value: 'generic',
    label: t('import.mapGeneric'),
    hint: t('import.mapGenericHint'),
    placeholder: '/home/shop/exports/customers.csv\n/home/shop/exports/products.csv\n/home/shop/exports/sales.csv',
  },
  {
    value: 'completejourney',
    label: t('import.mapCj'),
    hint: t('import.mapCjHint'),
    placeholder: '/home/shop/datasets/completejourney',
  },
  {
    value: 'file',
    label: t('import.mapFile'),
    hint: t('import.mapFileHint'),
    placeholder: '/home/shop/exports/customers.csv\n/home/shop/exports/items.csv',
  },
];

/** Milliseconds between two `import_progress` polls. */
export const PROGRESS_POLL_MS = 250;

/** One path per line; blank lines and surrounding spaces are ignored. */
export function parsePaths(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export type ImportRequest = { paths: string[]; mapping: string };

/** What to send, or a sentence saying what is missing. */
export function importRequest(
  pathsText: string,
  choice: MappingChoice,
  mappingFile: string,
): { ok: true; request: ImportRequest } | { ok: false; problem: string } {
  const paths = parsePaths(pathsText);
  if (paths.length === 0) {
    return {
      ok: false,
      problem: choice === 'completejourney' ? t('import.needCjPath') : t('import.needPath'),
    };
  }
  if (choice === 'completejourney' && paths.length > 1) {
    return { ok: false, problem: t('import.oneCjPath') };
  }
  if (choice === 'file') {
    const m = mappingFile.trim();
    if (!m) return { ok: false, problem: t('import.needMappingPath') };
    return { ok: true, request: { paths, mapping: m } };
  }
  return { ok: true, request: { paths, mapping: choice } };
}

/** Time left in human terms ("about 3 minutes left"). */
export function formatEta(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return t('import.etaUnknown');
  if (secs < 5) return t('import.etaFewSeconds');
  if (secs < 60) return t('import.etaSeconds', { n: Math.max(5, Math.round(secs / 5) * 5) });
  const minutes = Math.round(secs / 60);
  if (minutes < 60) return t('import.etaAbout', { left: t('plural.minute', { n: minutes }) });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? t('import.etaAbout', { left: t('plural.hour', { n: h }) }) : t('import.etaHoursMinutes', { h, m: String(m).padStart(2, '0') });
}

/** Rows per second, rounded ("12,345 rows/s"). */
export function formatRate(rowsPerSec: number, locale?: string): string {
  const r = Number.isFinite(rowsPerSec) && rowsPerSec > 0 ? Math.round(rowsPerSec) : 0;
  return t('import.rate', { rate: count(r, locale) });
}

/** Share done, 0..1: rows over the estimated total, else bytes; null while nothing tells. */
export function progressFraction(p: Progress | null): number | null {
  if (!p) return null;
  if (p.rows_total_estimate !== null && p.rows_total_estimate > 0) {
    return Math.min(1, p.rows_done / Math.max(p.rows_total_estimate, p.rows_done));
  }
  if (p.bytes_total > 0) return Math.min(1, p.bytes_done / p.bytes_total);
  return null;
}

/** "1,200 of about 5,000 rows" (or just "1,200 rows" before the total is known). */
export function progressRows(p: Progress, locale?: string): string {
  const done = count(p.rows_done, locale);
  if (p.rows_total_estimate === null) return t('import.rows', { n: p.rows_done, count: done });
  const total = Math.max(p.rows_total_estimate, p.rows_done);
  return t('import.rowsOfAbout', { done, total: count(total, locale) });
}

/** The last part of a path (either separator), for compact display. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/** The report's one-line verdict. */
export function reportHeadline(r: ImportReport, locale?: string): string {
  const n = (x: number) => count(x, locale);
  const rows = t('import.rows', { n: r.rows, count: n(r.rows) });
  const counts = { imported: n(r.imported), present: n(r.skipped_existing), rejected: n(r.rejected) };
  if (r.dry_run) {
    const early = r.cancelled ? t('import.stoppedEarly') : '';
    return t('import.checkedHeadline', { rows, early, ...counts });
  }
  const verb = r.cancelled ? t('import.cancelledVerb') : t('import.finishedVerb');
  return t('import.headline', { verb, rows, ...counts });
}

/** What was added ("3 customers, 10 products, 2 sales with 7 lines"), empty when nothing was. */
export function createdLine(r: ImportReport, locale?: string): string {
  const c = (x: number) => ({ n: x, count: count(x, locale) });
  const parts: string[] = [];
  if (r.customers_created) parts.push(t('import.customers', c(r.customers_created)));
  if (r.products_created) parts.push(t('import.products', c(r.products_created)));
  if (r.sales_created) parts.push(t('import.salesWith', { sales: t('import.sales', c(r.sales_created)), lines: t('import.lines', c(r.lines_imported)) }));
  if (r.attributes_set) parts.push(t('import.attributes', c(r.attributes_set)));
  if (r.campaign_rows) parts.push(t('import.campaignRows', c(r.campaign_rows)));
  return parts.join(', ');
}

/** Seconds an import took, compactly ("0.4 s", "12 s", "3 min 05 s"). */
export function formatSeconds(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '';
  if (secs < 0.1) return t('import.underTenth');
  if (secs < 10) return `${secs.toFixed(1)} s`;
  if (secs < 60) return `${Math.round(secs)} s`;
  const total = Math.round(secs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s).padStart(2, '0')} s`;
}
