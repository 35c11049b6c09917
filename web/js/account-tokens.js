// The account page's API tokens section: create a token (name, expiry, read-only,
// address allowlist; needs a fresh password confirmation, handled by the shared
// re-authentication dialog), show its value once with a copy button, list and revoke.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { field, checkField, clearFormErrors, reportInvalid, showFormError, setBusy, statusLine, formBanner } from './forms.js';
import { oneTimeBox } from './onetime.js';

// Splits the allowlist text into entries (lines, commas or spaces).
function parseIps(text) {
  return String(text || '').split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

// A rough shape check of an address or CIDR block; the server has the final word.
function looksLikeIp(s) {
  return /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)(\/\d{1,3})?$/.test(s);
}

// A token's state for the list.
function tokenState(t) {
  if (t.revoked) return badge('revoked', 'badge-off');
  if (t.expires_at && new Date(t.expires_at) <= new Date()) return badge('expired', 'badge-off');
  return badge('active', 'badge-ok');
}

// Builds the section: the create form, the one-time box and the list.
export function initTokens(container, banner) {
  const name = field({ label: 'Name', name: 'name', required: true, testid: 'token-name', hint: 'What the token is for, e.g. "case system import".', attrs: { maxlength: '100', autocomplete: 'off' } });
  const days = field({ label: 'Expires after (days)', name: 'expires_days', type: 'number', value: 90, testid: 'token-expires', hint: '1 to 3650 days.', attrs: { min: '1', max: '3650', step: '1' } });
  const ro = checkField({ label: 'Read-only (the token cannot change anything)', name: 'read_only', testid: 'token-readonly', checked: true });
  const ips = field({ label: 'Allowed addresses', name: 'allowed_ips', type: 'textarea', rows: 2, testid: 'token-ips', hint: 'Optional: addresses or CIDR blocks, one per line (e.g. 192.0.2.10 or 198.51.100.0/24). Empty: any address.' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'token-create' }, 'Create token');
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'token-form', 'aria-labelledby': 'token-form-title' },
    el('h3', { id: 'token-form-title', class: 'span-all', text: 'New token' }),
    name.wrap, days.wrap, ips.wrap, ro.wrap, el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  const created = el('div', { 'aria-live': 'polite' });
  const status = statusLine('tokens-status');
  const list = el('div', { 'data-testid': 'tokens-list' });
  clear(container);
  container.append(
    el('p', { class: 'muted', text: 'Tokens let programs use the API as you (send "Authorization: Bearer <token>"). They cannot take sensitive actions such as creating other tokens.' }),
    form, created, status, list);

  // Revokes one token and reloads the list.
  async function revoke(t, button) {
    button.disabled = true;
    try {
      await api('DELETE', `/me/tokens/${t.id}`);
      status.textContent = `Token "${t.name}" revoked.`;
    } catch (err) {
      handleError(banner, err, 'Could not revoke the token');
    }
    await load();
  }

  // Loads and renders the token list.
  async function load() {
    let tokens = [];
    try {
      tokens = (await api('GET', '/me/tokens')).tokens || [];
    } catch (err) {
      handleError(banner, err, 'Could not load your tokens');
      return;
    }
    const rows = tokens.map((t) => {
      let action = '';
      if (!t.revoked) {
        action = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'token-revoke', 'aria-label': `Revoke token ${t.name}` }, 'Revoke');
        action.addEventListener('click', () => revoke(t, action));
      }
      const used = t.last_used_at ? `${formatDate(t.last_used_at)}${t.last_used_ip ? ` from ${t.last_used_ip}` : ''}` : 'never';
      return {
        attrs: { 'data-testid': 'token-row' },
        cells: [t.name, formatDate(t.created_at), formatDate(t.expires_at), used, t.read_only ? 'read-only' : 'read and write',
          (t.allowed_ips || []).length ? t.allowed_ips.join(', ') : 'any', tokenState(t), action],
      };
    });
    clear(list);
    list.append(dataTable({ caption: 'Your API tokens', testid: 'tokens-table', rows, empty: 'You have no API tokens.',
      columns: ['Name', 'Created', 'Expires', 'Last used', 'Access', 'Addresses', 'State', 'Action'] }));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    clear(created);
    const n = name.control.value.trim();
    const d = Number(days.control.value);
    const addrs = parseIps(ips.control.value);
    const badIp = addrs.find((a) => !looksLikeIp(a));
    if (reportInvalid(form, [
      [name.control, !n ? 'Give the token a name.' : n.length > 100 ? 'Use at most 100 characters.' : ''],
      [days.control, !Number.isInteger(d) || d < 1 || d > 3650 ? 'Enter a whole number of days from 1 to 3650.' : ''],
      [ips.control, addrs.length > 32 ? 'At most 32 addresses.' : badIp ? `"${badIp}" is not an address or CIDR block.` : ''],
    ])) return;
    const body = { name: n, expires_days: d, read_only: ro.control.checked };
    if (addrs.length) body.allowed_ips = addrs;
    setBusy(submit, true, 'Creating…');
    try {
      const res = await api('POST', '/me/tokens', { body });
      created.append(oneTimeBox({ title: `Your new token "${n}"`, testid: 'new-token', value: res.token,
        note: 'Copy it now and keep it in your program\'s secret store: it is shown only once. If it leaks, revoke it below.' }));
      form.reset();
      days.control.value = '90';
      ro.control.checked = true;
      await load();
    } catch (err) {
      showFormError(form, err, 'The token was not created');
    }
    setBusy(submit, false);
  });

  load();
}
