// What typed text looks like a card number (for manual entry in the search field).

/** Minimum digits for typed text to be tried as a card number. */
export const MANUAL_CARD_MIN_DIGITS = 8;

/**
 * True when the search text is a card number rather than a name or a phone:
 * all digits (spaces and dashes between groups allowed), 8 or more of them.
 */
export function looksLikeCard(text: string): boolean {
  const compact = text.trim().replace(/[\s-]/g, '');
  return compact.length >= MANUAL_CARD_MIN_DIGITS && /^\d+$/.test(compact);
}
