/// <reference types="vite/client" />
// Guards for the UI's words: the catalogues agree, and no .svelte file
// shows a word that does not come from one.

import { describe, expect, it } from 'vitest';
import { parse } from 'svelte/compiler';
import { CATALOGUES, LANGUAGES, fill, pluralCategory, setShopLocale, setTillLanguage, t, textLocale, translate, languageFor, type Plural } from './index';
import { en } from './en';

type Entry = string | Plural;
const forms = (e: Entry): string[] => (typeof e === 'string' ? [e] : Object.values(e).filter((v): v is string => typeof v === 'string'));
const holes = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
const holeSet = (e: Entry): string => [...new Set(forms(e).flatMap(holes))].sort().join(',');

describe('catalogues', () => {
  const enKeys = Object.keys(en).sort();
  for (const code of LANGUAGES) {
    const cat = CATALOGUES[code] as Record<string, Entry>;
    it(`${code} has exactly the keys of en`, () => {
      expect(Object.keys(cat).sort()).toEqual(enKeys);
    });
    it(`${code} has no empty text`, () => {
      const empty = Object.entries(cat).filter(([, e]) => forms(e).some((f) => f.trim() === ''));
      expect(empty.map(([k]) => k)).toEqual([]);
    });
    it(`${code} uses the same {holes} as en in every entry`, () => {
      const diff = enKeys.filter((k) => cat[k] !== undefined && holeSet(cat[k]!) !== holeSet((en as Record<string, Entry>)[k]!));
      expect(diff).toEqual([]);
    });
    it(`${code} plurals are plurals in en and give every category the language uses`, () => {
      const bad: string[] = [];
      for (const k of enKeys) {
        const a = (en as Record<string, Entry>)[k]!;
        const b = cat[k]!;
        if (typeof a !== typeof b) bad.push(`${k}: plural in one language only`);
        if (typeof b !== 'string') {
          for (const n of [0, 1, 2, 3, 5, 11, 21, 101, 1.5]) {
            const c = pluralCategory(n, code);
            if (c !== 'other' && b[c] === undefined) bad.push(`${k}: no "${c}" form (n = ${n})`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
  }
});

/** Every UI source but the catalogues and tests (path → text), read by Vite. */
const CODE = import.meta.glob(['/src/**/*.svelte', '/src/**/*.ts', '!/src/lib/i18n/**', '!/src/**/*.test.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

describe('keys', () => {
  it('are each used somewhere (a left-over key is a translation nobody sees)', () => {
    const code = Object.values(CODE).join('\n');
    expect(Object.keys(CODE).length).toBeGreaterThan(30);
    expect(Object.keys(en).filter((k) => !code.includes(`'${k}'`))).toEqual([]);
  });
});

describe('t', () => {
  it('fills holes, picks plural forms and follows the chosen language', () => {
    expect(fill('Hello {name}', { name: 'Ann' })).toBe('Hello Ann');
    expect(fill('Hello {name}', {})).toBe('Hello {name}');
    setTillLanguage('shop');
    setShopLocale('en-US');
    expect(t('common.cancel')).toBe('Cancel');
    setShopLocale('de-DE');
    expect(t('common.cancel')).toBe('Abbrechen');
    setTillLanguage('en');
    expect(t('common.cancel')).toBe('Cancel');
    setTillLanguage('shop');
    setShopLocale('fr-FR');
    expect(t('common.cancel')).toBe('Cancel');
    expect(languageFor('de-AT')).toBe('de');
    expect(languageFor('C')).toBe('en');
    expect(languageFor(null)).toBe('en');
  });
  it('spells dates in the shop locale, or in the till language when the till chose another', () => {
    setTillLanguage('shop');
    setShopLocale('en-GB');
    expect(textLocale('en-GB')).toBe('en-GB');
    setShopLocale('de-AT');
    expect(textLocale('de-AT')).toBe('de-AT');
    setTillLanguage('en');
    expect(textLocale('de-AT')).toBe('en');
    setShopLocale('en-US');
    setTillLanguage('de');
    expect(textLocale('en-US')).toBe('de');
    setTillLanguage('shop');
    setShopLocale('en-US');
  });
  it('chooses plural forms by the language rules', () => {
    expect(translate('en', 'format.visits', { n: 1 })).toBe('1 visit');
    expect(translate('en', 'format.visits', { n: 2 })).toBe('2 visits');
    expect(translate('de', 'format.visits', { n: 1 })).toBe('1 Besuch');
    expect(translate('de', 'format.visits', { n: 0 })).toBe('0 Besuche');
  });
});

// ----- the scan: no literal words in markup

/** Every component's source, read by Vite (path from the ui/ root → text). */
const SOURCES = import.meta.glob('/src/**/*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** Attributes a person reads or hears. */
const VISIBLE_ATTRS = new Set(['placeholder', 'title', 'aria-label', 'aria-description', 'aria-roledescription', 'aria-valuetext', 'alt', 'label']);

/**
 * Words that are the same in every language: the brand, the millisecond
 * unit and key names printed alike on English and German keyboards (Ctrl
 * and Del are Strg and Entf there, so they come from the catalogue). A
 * lone letter (a key: <kbd>n</kbd>) and an example file path are not
 * words either.
 */
const ALLOWED = [/\bRegulars\b/g, /\b(ms|F\d{1,2}|Esc|Enter|Tab|Alt|PIN|OK)\b/g];

function literalWords(text: string): string | null {
  const trimmed = text.trim();
  if (/^\p{L}$/u.test(trimmed) || /^\/[\w./-]+$/.test(trimmed)) return null;
  let rest = text;
  for (const re of ALLOWED) rest = rest.replace(re, '');
  return /\p{L}/u.test(rest) ? text.trim() : null;
}

interface Node {
  type?: string;
  [k: string]: unknown;
}

/** String literals in an expression shown to people (`{busy ? 'Saving' : 'Save'}`). */
function literalStrings(expr: unknown, out: string[]) {
  if (!expr || typeof expr !== 'object') return;
  const n = expr as Node;
  if (n.type === 'Literal' && typeof n.value === 'string') {
    const w = literalWords(n.value as string);
    if (w) out.push(w);
    return;
  }
  if (n.type === 'TemplateElement') {
    const w = literalWords(((n.value as { cooked?: string })?.cooked ?? '') as string);
    if (w) out.push(w);
    return;
  }
  // Arguments of calls are keys or values, not text (t('a.b'), fmt(x, 'short')); comparisons too.
  if (n.type === 'CallExpression') return;
  if (n.type === 'BinaryExpression' && ['===', '!==', '==', '!='].includes(n.operator as string)) return;
  if (n.type === 'ConditionalExpression') {
    literalStrings(n.consequent, out);
    literalStrings(n.alternate, out);
    return;
  }
  if (n.type === 'LogicalExpression') {
    literalStrings(n.left, out);
    literalStrings(n.right, out);
    return;
  }
  if (n.type === 'TemplateLiteral') {
    for (const q of n.quasis as unknown[]) literalStrings(q, out);
    return;
  }
}

function scan(node: unknown, found: string[]) {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const c of node) scan(c, found);
    return;
  }
  const n = node as Node;
  switch (n.type) {
    case 'Text': {
      const w = literalWords(n.data as string);
      if (w) found.push(w);
      return;
    }
    case 'ExpressionTag':
      literalStrings(n.expression, found);
      return;
    case 'Attribute': {
      const name = (n.name as string).toLowerCase();
      if (!VISIBLE_ATTRS.has(name)) return;
      const vals = Array.isArray(n.value) ? n.value : [n.value];
      for (const v of vals) {
        if (!v || typeof v !== 'object') continue;
        const vn = v as Node;
        if (vn.type === 'Text') {
          const w = literalWords(vn.data as string);
          if (w) found.push(`${name}="${w}"`);
        } else if (vn.type === 'ExpressionTag') {
          const inner: string[] = [];
          literalStrings(vn.expression, inner);
          found.push(...inner.map((w) => `${name}={${w}}`));
        }
      }
      return;
    }
    case 'StyleDirective':
    case 'ClassDirective':
      return;
  }
  for (const [k, v] of Object.entries(n)) {
    if (k === 'instance' || k === 'module' || k === 'css' || k === 'metadata' || k === 'expression' || k === 'test') continue;
    scan(v, found);
  }
}

describe('markup', () => {
  const files = Object.keys(SOURCES);
  it('finds the components', () => {
    expect(files.length).toBeGreaterThan(20);
  });
  it('has no literal words outside t(...) in any .svelte file', () => {
    const problems: string[] = [];
    for (const f of files) {
      const ast = parse(SOURCES[f]!, { modern: true });
      const found: string[] = [];
      scan(ast.fragment, found);
      for (const w of found) problems.push(`${f}: ${w.replace(/\s+/g, ' ')}`);
    }
    expect(problems).toEqual([]);
  });
  it('catches a literal word in a text node, an attribute and an expression', () => {
    const found: string[] = [];
    scan(parse('<p>Hello</p><input placeholder="Name" /><b>{x ? "Yes" : t("a")}</b><i class="ok">{n}</i>', { modern: true }).fragment, found);
    expect(found).toEqual(['Hello', 'placeholder="Name"', 'Yes']);
  });
});
