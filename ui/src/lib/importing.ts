// Pure helpers of the "Import from the old POS" dialog: what is sent to
// `import_files`, and how progress and the report read.

import type { ImportReport } from '../bindings/ImportReport';
import type { Progress } from '../bindings/Progress';
import { count, plural } from './format';

/** The mapping select's values ("file" means a TOML mapping file typed in another field). */
export type MappingChoice = 'customers' | 'generic' | 'completejourney' | 'file';

export const MAPPING_CHOICES: readonly { value: MappingChoice; label: string; hint: string; placeholder: string }[] = [
  {
    value: 'customers',
    label: 'Customers list',
    hint: 'Columns external_ref, given_name, family_name, phone, email, card.',
    placeholder: '/home/shop/exports/customers.csv',
  },
  {
    value: 'generic',
    label: 'Generic (Regulars column names)',
    hint: 'Customers, products and sales files whose headers use Regulars’ own names.',
    placeholder: '/home/shop/exports/customers.csv\n/home/shop/exports/products.csv\n/home/shop/exports/sales.csv',
  },
  {
    value: 'completejourney',
    label: 'Complete Journey folder',
    hint: 'The folder holding the data set’s .csv.gz files (one path).',
    placeholder: '/home/shop/datasets/completejourney',
  },
  {
    value: 'file',
    label: 'Mapping file…',
    hint: 'A TOML mapping for your old POS (see assets/mappings/ for Square, Shopify, Loyverse).',
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
      problem: choice === 'completejourney' ? 'Type the path of the Complete Journey folder.' : 'Type the path of at least one file.',
    };
  }
  if (choice === 'completejourney' && paths.length > 1) {
    return { ok: false, problem: 'The Complete Journey is read from one folder: type just its path.' };
  }
  if (choice === 'file') {
    const m = mappingFile.trim();
    if (!m) return { ok: false, problem: 'Type the path of the mapping file (.toml).' };
    return { ok: true, request: { paths, mapping: m } };
  }
  return { ok: true, request: { paths, mapping: choice } };
}

/** Time left in human terms ("about 3 minutes left"). */
export function formatEta(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return 'working out the time left…';
  if (secs < 5) return 'a few seconds left';
  if (secs < 60) return `about ${Math.max(5, Math.round(secs / 5) * 5)} seconds left`;
  const minutes = Math.round(secs / 60);
  if (minutes < 60) return `about ${plural(minutes, 'minute')} left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `about ${plural(h, 'hour')} left` : `about ${h} h ${String(m).padStart(2, '0')} min left`;
}

/** Rows per second, rounded ("12,345 rows/s"). */
export function formatRate(rowsPerSec: number, locale?: string): string {
  const r = Number.isFinite(rowsPerSec) && rowsPerSec > 0 ? Math.round(rowsPerSec) : 0;
  return `${count(r, locale)} rows/s`;
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
  if (p.rows_total_estimate === null) return `${done} ${p.rows_done === 1 ? 'row' : 'rows'}`;
  const total = Math.max(p.rows_total_estimate, p.rows_done);
  return `${done} of about ${count(total, locale)} rows`;
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
  const rows = `${n(r.rows)} ${r.rows === 1 ? 'row' : 'rows'} read`;
  if (r.dry_run) {
    const early = r.cancelled ? ' (stopped early)' : '';
    return `Checked ${n(r.rows)} ${r.rows === 1 ? 'row' : 'rows'}${early}: ${n(r.imported)} would be imported, ${n(r.skipped_existing)} already present, ${n(r.rejected)} rejected.`;
  }
  const verb = r.cancelled ? 'Import cancelled' : 'Import finished';
  return `${verb}: ${rows}; ${n(r.imported)} imported, ${n(r.skipped_existing)} already present, ${n(r.rejected)} rejected.`;
}

/** What was added ("3 customers, 10 products, 2 sales with 7 lines"), empty when nothing was. */
export function createdLine(r: ImportReport, locale?: string): string {
  const n = (x: number, one: string, many = `${one}s`) => `${count(x, locale)} ${x === 1 ? one : many}`;
  const parts: string[] = [];
  if (r.customers_created) parts.push(n(r.customers_created, 'customer'));
  if (r.products_created) parts.push(n(r.products_created, 'product'));
  if (r.sales_created) parts.push(`${n(r.sales_created, 'sale')} with ${n(r.lines_imported, 'line')}`);
  if (r.attributes_set) parts.push(n(r.attributes_set, 'customer attribute'));
  if (r.campaign_rows) parts.push(n(r.campaign_rows, 'campaign row'));
  return parts.join(', ');
}

/** Seconds an import took, compactly ("0.4 s", "12 s", "3 min 05 s"). */
export function formatSeconds(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '';
  if (secs < 0.1) return 'under 0.1 s';
  if (secs < 10) return `${secs.toFixed(1)} s`;
  if (secs < 60) return `${Math.round(secs)} s`;
  const total = Math.round(secs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s).padStart(2, '0')} s`;
}
