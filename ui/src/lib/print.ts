// Printing a receipt: the server renders a complete HTML document; it is
// loaded into a hidden iframe and that frame is printed (the till's own page
// and its print rules stay out of it).

import { t } from './i18n';
import { receiptHtml } from './api';

declare global {
  interface Window {
    /**
     * Test seam: when set, receipts are handed to this function instead of
     * the system print dialog (which would block a headless test).
     */
    __regularsPrintHook?: (html: string) => void;
  }
}

/** How long the frame is kept after printing (the dialog may still read it). */
const FRAME_LIFETIME_MS = 60_000;

export function printHtml(html: string): Promise<void> {
  if (typeof window.__regularsPrintHook === 'function') {
    window.__regularsPrintHook(html);
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const frame = document.createElement('iframe');
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.title = t('print.receipt');
    // Off screen but laid out (a zero-sized frame can print blank).
    frame.style.cssText = 'position:fixed;left:-10000px;top:0;width:480px;height:800px;border:0;';
    frame.addEventListener(
      'load',
      () => {
        try {
          const w = frame.contentWindow;
          if (!w) throw new Error(t('print.failed'));
          w.focus();
          w.print();
          resolve();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        } finally {
          setTimeout(() => frame.remove(), FRAME_LIFETIME_MS);
        }
      },
      { once: true },
    );
    frame.srcdoc = html;
    document.body.appendChild(frame);
  });
}

/** Fetches a sale's receipt and prints it. */
export async function printReceipt(saleId: string): Promise<void> {
  await printHtml(await receiptHtml(saleId));
}
