import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));

import { attachCard, errorTitle, findCustomers, lookupCard, toApiError } from './api';
import { setShopLocale } from './i18n';

beforeEach(() => {
  (globalThis as Record<string, unknown>).window = { __TAURI_INTERNALS__: {} };
  invoke.mockReset();
});
afterEach(() => {
  delete (globalThis as Record<string, unknown>).window;
});

describe('api', () => {
  it('passes camelCase args to the right command', async () => {
    invoke.mockResolvedValue([]);
    await findCustomers('jo', 20);
    expect(invoke).toHaveBeenCalledWith('find_customers', { query: 'jo', limit: 20 });
    invoke.mockResolvedValue({});
    await attachCard('c1', '2900000000017');
    expect(invoke).toHaveBeenCalledWith('attach_card', { customerId: 'c1', code: '2900000000017' });
  });

  it('passes ApiErrors through', async () => {
    invoke.mockRejectedValue({ code: 'unknown_card', message: 'No customer has card 2900000000017.' });
    await expect(lookupCard('2900000000017')).rejects.toEqual({
      code: 'unknown_card',
      message: 'No customer has card 2900000000017.',
    });
  });

  it('normalises anything else to internal', async () => {
    invoke.mockRejectedValue('command lookup_card not found');
    await expect(lookupCard('x')).rejects.toEqual({ code: 'internal', message: 'command lookup_card not found' });
    invoke.mockRejectedValue(new Error('boom'));
    await expect(lookupCard('x')).rejects.toEqual({ code: 'internal', message: 'boom' });
    expect(toApiError({ code: 'weird', message: 'x' }).code).toBe('internal');
    expect(toApiError(undefined).code).toBe('internal');
    expect(toApiError('{"code":"busy","message":"Try again"}')).toEqual({ code: 'busy', message: 'Try again' });
  });

  it('titles a code without a message from the catalogue, in the till language', () => {
    setShopLocale('en-US');
    expect(toApiError({ code: 'disk_full', message: '' })).toEqual({ code: 'disk_full', message: 'The disk is full' });
    setShopLocale('de-DE');
    expect(errorTitle('wrong_pin')).toBe('Falsche PIN');
    setShopLocale('en-US');
  });

  it('fails cleanly outside the Tauri shell', async () => {
    delete (globalThis as Record<string, unknown>).window;
    await expect(lookupCard('x')).rejects.toMatchObject({ code: 'internal' });
    expect(invoke).not.toHaveBeenCalled();
  });
});
