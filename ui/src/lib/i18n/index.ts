// The UI's words: `t(key, params?)` looks a key up in the current
// language's catalogue (en.ts is the source, every other language is one
// file typed against it), fills `{name}` holes and picks plural forms with
// Intl.PluralRules. Which language is current: the shop's locale, unless
// this till's settings say otherwise. This module owns words only; how
// dates, money and numbers look stays with lib/format.ts (the shop's locale).
// Text that comes from Rust (ApiError.message, prompt and offer reasons)
// is shown as it arrives.

import { en, type Catalogue, type Plural } from './en';
import { de } from './de';
import { lang } from './state.svelte';

export type { Catalogue, Plural };

/** Every language the UI speaks. Adding one: a catalogue file and its line here. */
export const CATALOGUES = { en, de } satisfies Record<string, Catalogue>;

/** A language with a catalogue ("en", "de"). */
export type LanguageCode = keyof typeof CATALOGUES;

export const LANGUAGES = Object.keys(CATALOGUES) as LanguageCode[];

export type Key = keyof typeof en;

/** The `{name}` holes of a string type. */
type Holes<S> = S extends `${string}{${infer P}}${infer R}` ? P | Holes<R> : never;
/** The params an entry needs: its holes, and `n` for a plural. */
type EntryHoles<E> = E extends string ? Holes<E> : E extends Plural ? 'n' | Holes<E[keyof E]> : never;
export type Params<K extends Key> = { [P in EntryHoles<(typeof en)[K]>]: string | number };
type Args<K extends Key> = [EntryHoles<(typeof en)[K]>] extends [never] ? [] : [params: Params<K>];
/** Keys whose text has no holes: what a table of labels holds (`t(label)` needs no params). */
export type PlainKey = { [K in Key]: [EntryHoles<(typeof en)[K]>] extends [never] ? K : never }[Key];

/** The language the UI speaks now (reactive: read inside a template, it redraws on change). */
export function language(): LanguageCode {
  return lang.till === 'shop' ? lang.shop : lang.till;
}

/** The catalogue language for a BCP 47 locale: its base language if there is a catalogue, else English. */
export function languageFor(locale: string | null | undefined): LanguageCode {
  const base = (locale ?? '').toLowerCase().split(/[-_.]/)[0];
  return (LANGUAGES as string[]).includes(base) ? (base as LanguageCode) : 'en';
}

/** The shop's locale changed (its settings, at start or after the owner saved them). */
export function setShopLocale(locale: string | null | undefined) {
  const next = languageFor(locale);
  if (lang.shop !== next) lang.shop = next;
}

/** This till's own choice ('shop' follows the shop). */
export function setTillLanguage(choice: LanguageCode | 'shop') {
  if (lang.till !== choice) lang.till = choice;
}

const pluralRules = new Map<string, Intl.PluralRules>();

/** The plural category of `n` in `language` ("one", "other", ...). */
export function pluralCategory(n: number, language: LanguageCode): Intl.LDMLPluralRule {
  let r = pluralRules.get(language);
  if (!r) {
    r = new Intl.PluralRules(language);
    pluralRules.set(language, r);
  }
  return r.select(n);
}

/** The form of a plural entry for `n`: the language's category, else `other`. */
export function pluralForm(p: Plural, n: number, language: LanguageCode): string {
  return p[pluralCategory(n, language)] ?? p.other;
}

/** Fills `{name}` holes; a hole with no param stays visible (a bug to see, not a crash). */
export function fill(text: string, params: Record<string, string | number> | undefined): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (hole, name: string) => (name in params ? String(params[name]) : hole));
}

/** Looks `key` up in `language` (English when a catalogue lacks it at run time). */
export function translate(language: LanguageCode, key: Key, params?: Record<string, string | number>): string {
  const entry = (CATALOGUES[language] as Record<string, string | Plural>)[key] ?? (en as Record<string, string | Plural>)[key];
  if (entry === undefined) return key;
  if (typeof entry === 'string') return fill(entry, params);
  const n = Number(params?.n ?? 0);
  return fill(pluralForm(entry, n, language), params);
}

/** The UI's text for `key` in the current language. Params are type-checked against en.ts. */
export function t<K extends Key>(key: K, ...args: Args<K>): string {
  return translate(language(), key, args[0] as Record<string, string | number> | undefined);
}

/**
 * The locale for phrases Intl builds (relative dates): the shop's locale
 * when it speaks the UI's language (keeps its region), else the language.
 */
export function textLocale(shopLocale: string): string {
  const l = language();
  return languageFor(shopLocale) === l ? shopLocale : l;
}
