// The only module that talks to the Rust side. Everything else calls the
// typed functions below; every failure arrives as an ApiError.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { t, type PlainKey } from './i18n';
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
import type { Session } from '../bindings/Session';
import type { StaffMember } from '../bindings/StaffMember';
import type { AuditEntry } from '../bindings/AuditEntry';
import type { BackupReport } from '../bindings/BackupReport';
import type { Role } from '../bindings/Role';
import type { Diagnostics } from '../bindings/Diagnostics';
import type { StoreSettings } from '../bindings/StoreSettings';
import type { CampaignDraft } from '../bindings/CampaignDraft';
import type { CampaignInfo } from '../bindings/CampaignInfo';
import type { CampaignPreview } from '../bindings/CampaignPreview';
import type { Dashboard } from '../bindings/Dashboard';
import type { DashboardChart } from '../bindings/DashboardChart';
import type { OfferResults } from '../bindings/OfferResults';
import type { SegmentReport } from '../bindings/SegmentReport';
import type { OverdueCustomer } from '../bindings/OverdueCustomer';
import type { ContactItem } from '../bindings/ContactItem';
import type { ContactOutcome } from '../bindings/ContactOutcome';
import type { DuplicatePair } from '../bindings/DuplicatePair';
import type { MergeReceipt } from '../bindings/MergeReceipt';
import type { CustomerEdit } from '../bindings/CustomerEdit';
import type { Household } from '../bindings/Household';
import type { ErasureReport } from '../bindings/ErasureReport';
import type { SyncStatus } from '../bindings/SyncStatus';

export type { ApiError, ErrorCode };

// Every code with the UI's own title for it (from the catalogue), checked
// against the generated type: a code added in Rust fails the UI's type
// check until it is listed here.
const CODE_SET: Record<ErrorCode, PlainKey> = {
  invalid_input: 'error.invalid_input',
  bad_check_digit: 'error.bad_check_digit',
  unknown_card: 'error.unknown_card',
  card_taken: 'error.card_taken',
  card_retired: 'error.card_retired',
  not_found: 'error.not_found',
  busy: 'error.busy',
  corrupt: 'error.corrupt',
  disk_full: 'error.disk_full',
  wrong_pin: 'error.wrong_pin',
  locked_out: 'error.locked_out',
  owner_only: 'error.owner_only',
  internal: 'error.internal',
};
const CODES = Object.keys(CODE_SET) as ErrorCode[];

/** The UI's own short title for an error code, in the till's language (the message itself comes from Rust). */
export function errorTitle(code: ErrorCode): string {
  return t(CODE_SET[code] ?? 'error.internal');
}

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
  // A code with no message (a bare `{code}` from the shell) reads as its title.
  if (isApiError(e)) return { code: e.code, message: e.message || errorTitle(e.code) };
  if (typeof e === 'string') {
    // A command may reject with a JSON-encoded ApiError or a bare message.
    try {
      const parsed: unknown = JSON.parse(e);
      if (isApiError(parsed)) return { code: parsed.code, message: parsed.message || errorTitle(parsed.code) };
    } catch {
      // not JSON
    }
    return { code: 'internal', message: e || t('error.generic') };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message || t('error.generic') };
  return { code: 'internal', message: t('error.generic') };
}

/** True when the page runs inside the Tauri shell (false in a plain browser). */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  if (!inTauri()) {
    throw { code: 'internal', message: t('error.noBackend') } satisfies ApiError;
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

/**
 * An offer was shown, accepted (on `saleId`, when known) or declined.
 * `eventId` (a UUIDv7) is made once per tap and resent on a retry, so a
 * retried redemption never spends the points twice.
 */
export const offerFeedback = (
  eventId: string,
  customerId: string,
  key: string,
  kind: OfferKind,
  outcome: OfferOutcome,
  saleId: string | null = null,
): Promise<null> => call('offer_feedback', { eventId, customerId, key, kind, outcome, saleId });

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

// ----- staff and the owner's back office
// Owner-only commands use the session the shell holds after `unlock`; the
// UI never passes a PIN or a session around.

/** The people who can unlock this till (names and roles; no PIN data). */
export const staffMembers = (): Promise<StaffMember[]> => call('staff_members');

/** Unlocks as one staff member with their PIN; the shell keeps the session. */
export const unlock = (staffId: string, pin: string): Promise<Session> => call('unlock', { staffId, pin });

/** True on a store nobody has set up yet (no owner). */
export const needsOwnerSetup = (): Promise<boolean> => call('needs_owner_setup');

/** First run: makes the owner and unlocks as them. */
export const setUpOwner = (name: string, pin: string): Promise<Session> => call('set_up_owner', { name, pin });

/** Forgets the unlocked session (back to the till). */
export const lock = (): Promise<null> => call('lock');

/** This till's offset from UTC in minutes (east positive): the shop's day boundaries. */
const utcOffsetMinutes = () => -new Date().getTimezoneOffset();

export const dashboard = (from: string, to: string): Promise<Dashboard> =>
  call('dashboard', { from, to, utcOffsetMinutes: utcOffsetMinutes() });

/** Saves one dashboard chart's figures as CSV in the exports folder; gives the file's path. */
export const exportDashboardChart = (chart: DashboardChart, from: string, to: string): Promise<string> =>
  call('export_dashboard_chart', { chart, from, to, utcOffsetMinutes: utcOffsetMinutes() });

export const offerResults = (from: string, to: string): Promise<OfferResults> => call('offer_results', { from, to });

/** Segments as of a day (null = today) and their month-by-month counts. */
export const segments = (asOf: string | null): Promise<SegmentReport> => call('segments', { asOf });

export const overdue = (asOf: string | null, limit: number): Promise<OverdueCustomer[]> =>
  call('overdue', { asOf, limit });

export const contactList = (): Promise<ContactItem[]> => call('contact_list');

export const recordContactOutcome = (customerId: string, reasonKey: string, outcome: ContactOutcome): Promise<null> =>
  call('record_contact_outcome', { customerId, reasonKey, outcome });

/** Saves this week's contact list as CSV (mail-merge); gives the file's path. */
export const exportContacts = (): Promise<string> => call('export_contacts');

export const duplicatePairs = (limit: number): Promise<DuplicatePair[]> => call('duplicate_pairs', { limit });

export const dismissDuplicate = (a: string, b: string): Promise<null> => call('dismiss_duplicate', { a, b });

export const mergeCustomers = (survivorId: string, mergedId: string): Promise<MergeReceipt> =>
  call('merge_customers', { survivorId, mergedId });

export const undoMerge = (mergeId: string): Promise<Profile> => call('undo_merge', { mergeId });

export const updateCustomer = (id: string, edit: CustomerEdit): Promise<Profile> =>
  call('update_customer', { id, edit });

export const createHousehold = (name: string, members: string[]): Promise<Household> =>
  call('create_household', { name, members });

export const setHousehold = (customerId: string, householdId: string | null): Promise<Profile> =>
  call('set_household', { customerId, householdId });

export const retireNote = (noteId: string): Promise<null> => call('retire_note', { noteId });

/** Saves everything held about a customer as JSON in the exports folder; gives the file's path. */
export const exportCustomer = (id: string): Promise<string> => call('export_customer', { id });

/** Erases a customer on request (personal data everywhere; sales stay as anonymous totals). */
export const eraseCustomer = (id: string): Promise<ErasureReport> => call('erase_customer', { id });

export const auditLog = (limit: number): Promise<AuditEntry[]> => call('audit_log', { limit });

export const addStaff = (name: string, role: Role, pin: string): Promise<StaffMember> =>
  call('add_staff', { name, role, pin });

/** The owner sets or resets someone's PIN. */
export const setPin = (staffId: string, pin: string): Promise<null> => call('set_pin', { staffId, pin });

/** Backs the store up now into the backup folder. */
export const backupNow = (): Promise<BackupReport> => call('backup_now');

export const listCampaigns = (): Promise<CampaignInfo[]> => call('list_campaigns');

/** Saves a campaign (validated by the core); gives it back with its id. */
export const saveCampaign = (draft: CampaignDraft): Promise<CampaignDraft> => call('save_campaign', { draft });

/** Who the campaign would be offered to today, by the till's own rule. */
export const previewCampaign = (draft: CampaignDraft): Promise<CampaignPreview> =>
  call('preview_campaign', { draft });

/** What support needs (versions, store health, counts, recent log lines); nothing personal. */
export const diagnostics = (): Promise<Diagnostics> => call('diagnostics');

/** Where the daily backups go. */
export const backupFolder = (): Promise<string | null> => call('backup_folder');

/** The owner chooses the backup folder (created if needed), e.g. a USB drive. */
export const setBackupFolder = (folder: string): Promise<null> => call('set_backup_folder', { folder });

/** The shop's name, currency, locale and loyalty switch (owner). */
export const storeSettings = (): Promise<StoreSettings> => call('store_settings');

/** The owner changes them (checked by the core; dates and money follow at once). */
export const saveStoreSettings = (settings: StoreSettings): Promise<StoreSettings> =>
  call('save_store_settings', { settings });

// ----- sync with the central server

/** Where this till stands with the server (not enrolled, last push/pull, what waits). */
export const syncStatus = (): Promise<SyncStatus> => call('sync_status');

/** Asks the background sync for a round at once; its result comes as a `sync-status` event. */
export const syncNow = (): Promise<null> => call('sync_now');

/** Enrolls this till with a server using a one-time code (owner). */
export const enroll = (serverUrl: string, code: string, deviceName: string): Promise<SyncStatus> =>
  call('enroll', { serverUrl, code, deviceName });

/** The shell's event after every sync round. */
export const SYNC_STATUS_EVENT = 'sync-status';

/** Calls `f` with the status after every sync round; gives the function that stops listening. */
export async function onSyncStatus(f: (s: SyncStatus) => void): Promise<() => void> {
  if (!inTauri()) return () => {};
  return listen<SyncStatus>(SYNC_STATUS_EVENT, (e) => f(e.payload));
}
