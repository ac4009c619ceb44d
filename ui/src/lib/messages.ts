// What the till says in its message strip (`[data-testid=scan-message]`).

import { t } from './i18n';

export interface Message {
  kind: 'info' | 'error' | 'ok';
  text: string;
  detail?: string;
  /** One button next to the text (e.g. Undo after a void). */
  action?: { label: string; run: () => void };
}

/** The message of anything thrown (ApiError, BasketError, Error). */
export function errorText(e: unknown, fallback = t('error.generic')): string {
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') {
    return (e as { message: string }).message || fallback;
  }
  return fallback;
}
