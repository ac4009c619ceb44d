import { describe, expect, it } from 'vitest';
import type { ImportReport } from '../bindings/ImportReport';
import type { Progress } from '../bindings/Progress';
import {
  baseName,
  createdLine,
  formatEta,
  formatRate,
  formatSeconds,
  importRequest,
  parsePaths,
  progressFraction,
  progressRows,
  reportHeadline,
} from './importing';

const progress = (p: Partial<Progress>): Progress => ({
  file: '/x/customers.csv',
  rows_done: 0,
  rows_total_estimate: null,
  bytes_done: 0,
  bytes_total: 0,
  rows_per_sec: 0,
  elapsed_secs: 0,
  eta_secs: null,
  ...p,
});

const report = (r: Partial<ImportReport>): ImportReport => ({
  rows: 4,
  imported: 3,
  skipped_existing: 0,
  rejected: 1,
  errors: [],
  warnings: [],
  notes: [],
  customers_created: 3,
  products_created: 0,
  sales_created: 0,
  lines_imported: 0,
  attributes_set: 0,
  campaign_rows: 0,
  files: [],
  seconds: 0.2,
  dry_run: false,
  cancelled: false,
  error_report: null,
  ...r,
});

describe('parsePaths', () => {
  it('takes one path per line, trimmed, without blank lines', () => {
    expect(parsePaths('  /a/b.csv \n\n/c d/e.csv\r\n   ')).toEqual(['/a/b.csv', '/c d/e.csv']);
    expect(parsePaths('')).toEqual([]);
  });
});

describe('importRequest', () => {
  it('sends a built-in profile name', () => {
    expect(importRequest('/a.csv', 'customers', '')).toEqual({
      ok: true,
      request: { paths: ['/a.csv'], mapping: 'customers' },
    });
  });
  it('sends the mapping file path for "file"', () => {
    expect(importRequest('/a.csv\n/b.csv', 'file', ' /m/square.toml ')).toEqual({
      ok: true,
      request: { paths: ['/a.csv', '/b.csv'], mapping: '/m/square.toml' },
    });
  });
  it('says what is missing', () => {
    expect(importRequest('  ', 'generic', '')).toMatchObject({ ok: false, problem: expect.stringMatching(/at least one file/) });
    expect(importRequest('/a.csv', 'file', '')).toMatchObject({ ok: false, problem: expect.stringMatching(/mapping file/) });
    expect(importRequest('', 'completejourney', '')).toMatchObject({ ok: false, problem: expect.stringMatching(/folder/) });
    expect(importRequest('/a\n/b', 'completejourney', '')).toMatchObject({ ok: false, problem: expect.stringMatching(/one folder/) });
  });
});

describe('formatEta', () => {
  it('speaks in human terms', () => {
    expect(formatEta(null)).toBe('working out the time left…');
    expect(formatEta(Number.NaN)).toBe('working out the time left…');
    expect(formatEta(0)).toBe('a few seconds left');
    expect(formatEta(4.9)).toBe('a few seconds left');
    expect(formatEta(6)).toBe('about 5 seconds left');
    expect(formatEta(42)).toBe('about 40 seconds left');
    expect(formatEta(58)).toBe('about 60 seconds left');
    expect(formatEta(60)).toBe('about 1 minute left');
    expect(formatEta(150)).toBe('about 3 minutes left');
    expect(formatEta(3600)).toBe('about 1 hour left');
    expect(formatEta(2 * 3600 + 5 * 60)).toBe('about 2 h 05 min left');
  });
});

describe('formatRate and formatSeconds', () => {
  it('rounds rates', () => {
    expect(formatRate(12345.6, 'en-US')).toBe('12,346 rows/s');
    expect(formatRate(Number.NaN, 'en-US')).toBe('0 rows/s');
  });
  it('formats durations', () => {
    expect(formatSeconds(0.02)).toBe('under 0.1 s');
    expect(formatSeconds(0.42)).toBe('0.4 s');
    expect(formatSeconds(12.4)).toBe('12 s');
    expect(formatSeconds(185)).toBe('3 min 05 s');
    expect(formatSeconds(3 * 3600 + 120)).toBe('3 h 02 min');
  });
});

describe('progress', () => {
  it('uses the row estimate, else bytes, else nothing', () => {
    expect(progressFraction(null)).toBeNull();
    expect(progressFraction(progress({}))).toBeNull();
    expect(progressFraction(progress({ rows_done: 25, rows_total_estimate: 100 }))).toBe(0.25);
    expect(progressFraction(progress({ rows_done: 120, rows_total_estimate: 100 }))).toBe(1);
    expect(progressFraction(progress({ bytes_done: 50, bytes_total: 200 }))).toBe(0.25);
  });
  it('reads rows of the estimate', () => {
    expect(progressRows(progress({ rows_done: 1200, rows_total_estimate: 5000 }), 'en-US')).toBe(
      '1,200 of about 5,000 rows',
    );
    expect(progressRows(progress({ rows_done: 1 }), 'en-US')).toBe('1 row');
  });
});

describe('report lines', () => {
  it('says what happened', () => {
    expect(reportHeadline(report({}), 'en-US')).toBe(
      'Import finished: 4 rows read; 3 imported, 0 already present, 1 rejected.',
    );
    expect(reportHeadline(report({ dry_run: true }), 'en-US')).toBe(
      'Checked 4 rows: 3 would be imported, 0 already present, 1 rejected.',
    );
    expect(reportHeadline(report({ cancelled: true }), 'en-US')).toMatch(/^Import cancelled/);
    expect(reportHeadline(report({ cancelled: true, dry_run: true }), 'en-US')).toMatch(/^Checked 4 rows \(stopped early\):/);
  });
  it('lists what was added', () => {
    expect(createdLine(report({}), 'en-US')).toBe('3 customers');
    expect(createdLine(report({ customers_created: 1, sales_created: 2, lines_imported: 5 }), 'en-US')).toBe(
      '1 customer, 2 sales with 5 lines',
    );
    expect(createdLine(report({ customers_created: 0 }), 'en-US')).toBe('');
  });
  it('shortens paths', () => {
    expect(baseName('/tmp/x/customers.csv')).toBe('customers.csv');
    expect(baseName('C:\\shop\\items.csv')).toBe('items.csv');
    expect(baseName('/data/completejourney/')).toBe('completejourney');
  });
});
