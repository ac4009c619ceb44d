// The only module that talks to the Rust side. Everything else calls the
// typed functions below; every failure arrives as an ApiError.

import { invoke } from '@tauri-apps/api/core';
import type { ApiError } from '../bindings/ApiError';
import type { ErrorCode } from '../bindings/ErrorCode';
import type { StoreInfo } from '../bindings/StoreInfo';
import type { FoundCustomer } from '../bindings/FoundCustomer';
import type { Profile } from '../bindings/Profile';
import type { NewNote } from '../bindings/NewNote';
import type { Note } from '../bindings/Note';
import type { NewCustomer } from '../bindings/NewCustomer';
import type { DuplicateCandidate } from '../bindings/DuplicateCandidate';
import type { ScanResult } from '../bindings/ScanResult';
import type { Product } from '../bindings/Product';
import type { ProductDraft } from '../bindings/ProductDraft';
import type { SaleDraft } from '../bindings/SaleDraft';
import type { Sale } from '../bindings/Sale';
import type { PaymentMethod } from '../bindings/PaymentMethod';
import type { Suggestions } from '../bindings/Suggestions';
import type { PromptKind } from '../bindings/PromptKind';
import type { PromptVerdict } from '../bindings/PromptVerdict';
import type { OfferKind } from '../bindings/OfferKind';
import type { OfferOutcome } from '../bindings/OfferOutcome';
import type { ImportReport } from '../bindings/ImportReport';
import type { Progress } from '../bindings/Progress';

export type { ApiError, ErrorCode };

const CODES: readonly ErrorCode[] = [
  'invalid_input',
  'bad_check_digit',
  'unknown_card',
  'card_taken',
  'card_retired',
  'not_found',
  'busy',
  'corrupt',
  'internal',
];

export function isApiError(e: unknown): e is ApiError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as ApiError).message === 'string' &&
    CODES.includes((e as ApiError).code)
  );
}

/** Turns anything thrown by invoke (or by the bridge itself) into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return { code: e.code, message: e.message };
  if (typeof e === 'string') {
    // A command may reject with a JSON-encoded ApiError or a bare message.
    try {
      const parsed: unknown = JSON.parse(e);
      if (isApiError(parsed)) return { code: parsed.code, message: parsed.message };
    } catch {
      // not JSON
    }
    return { code: 'internal', message: e || 'Something went wrong.' };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message || 'Something went wrong.' };
  return { code: 'internal', message: 'Something went wrong.' };
}

/** True when the page runs inside the Tauri shell (false in a plain browser). */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  if (!inTauri()) {
    throw { code: 'internal', message: 'Not connected to the Regulars app (no backend).' } satisfies ApiError;
  }
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

export const storeInfo = (): Promise<StoreInfo> => call('store_info');

export const findCustomers = (query: string, limit: number): Promise<FoundCustomer[]> =>
  call('find_customers', { query, limit });

export const lookupCard = (code: string): Promise<Profile> => call('lookup_card', { code });

export const customerProfile = (id: string): Promise<Profile> => call('customer_profile', { id });

export const addNote = (customerId: string, note: NewNote): Promise<Note> =>
  call('add_note', { customerId, note });

export const checkDuplicates = (draft: NewCustomer): Promise<DuplicateCandidate[]> =>
  call('check_duplicates', { draft });

export const enrolCustomer = (draft: NewCustomer): Promise<Profile> => call('enrol_customer', { draft });

export const attachCard = (customerId: string, code: string): Promise<Profile> =>
  call('attach_card', { customerId, code });

export const cardSvg = (code: string): Promise<string> => call('card_svg', { code });

// ----- checkout

/** A scanned or typed code: a loyalty card (its holder's profile) or a product (a line for the sale). */
export const scanCode = (code: string): Promise<ScanResult> => call('scan_code', { code });

export const findProducts = (query: string, limit: number): Promise<Product[]> =>
  call('find_products', { query, limit });

export const saveProduct = (id: string | null, draft: ProductDraft): Promise<Product> =>
  call('save_product', { id, draft });

/** Completes a sale atomically (catalogue lines take the catalogue's price and name). */
export const completeSale = (draft: SaleDraft): Promise<Sale> => call('complete_sale', { draft });

/** Puts a completed anonymous sale on a customer's history (card shown after paying). */
export const attachSaleCustomer = (saleId: string, customerId: string): Promise<Sale> =>
  call('attach_sale_customer', { saleId, customerId });

/** Refunds lines of a sale (`positions` empty = every line not refunded yet). */
export const refundSale = (saleId: string, positions: number[], paymentMethod: PaymentMethod): Promise<Sale> =>
  call('refund_sale', { saleId, positions, paymentMethod });

export const recentSales = (limit: number): Promise<Sale[]> => call('recent_sales', { limit });

/** A complete HTML receipt document, for printing. */
export const receiptHtml = (saleId: string): Promise<string> => call('receipt_html', { saleId });

// ----- what to say and what to offer

/** Up to 3 conversation prompts and 2 offers for a customer, given the product ids on the sale. */
export const suggestions = (customerId: string, basket: string[]): Promise<Suggestions> =>
  call('suggestions', { customerId, basket });

/** The cashier used a prompt, or found it not relevant. */
export const promptFeedback = (
  customerId: string,
  key: string,
  kind: PromptKind,
  verdict: PromptVerdict,
): Promise<null> => call('prompt_feedback', { customerId, key, kind, verdict });

/** An offer was shown, accepted (on `saleId`, when known) or declined. */
export const offerFeedback = (
  customerId: string,
  key: string,
  kind: OfferKind,
  outcome: OfferOutcome,
  saleId: string | null = null,
): Promise<null> => call('offer_feedback', { customerId, key, kind, outcome, saleId });

// ----- import from the old POS

/**
 * Imports (or, with `dryRun`, only checks) CSV files through a mapping: a
 * built-in name ("customers", "generic", "completejourney": then paths[0] is
 * the folder) or the path of a TOML mapping file. Long-running: poll
 * `importProgress` meanwhile.
 */
export const importFiles = (paths: string[], mapping: string, dryRun: boolean): Promise<ImportReport> =>
  call('import_files', { paths, mapping, dryRun });

/** The running import's latest progress (null before the first batch). */
export const importProgress = (): Promise<Progress | null> => call('import_progress');

/** Asks the running import to stop after its current batch. */
export const cancelImport = (): Promise<null> => call('cancel_import');
