// The language the UI speaks, as Svelte state: every `t(...)` read in a
// template re-runs when it changes, so switching redraws at once. Kept in a
// `.svelte.ts` module (runes need one); index.ts is the public face.

import type { LanguageCode } from './index';

export const lang = $state<{ shop: LanguageCode; till: LanguageCode | 'shop' }>({
  /** Follows the shop's locale (its settings; "de-DE" speaks German). */
  shop: 'en',
  /** This till's override from its settings, or 'shop' to follow the shop. */
  till: 'shop',
});
