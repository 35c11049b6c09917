// totp.mjs - RFC 6238 codes for tests (SHA-1, 6 digits, 30 s), computed with
// node:crypto, so a test can play the person with the authenticator app.
import { createHmac } from 'node:crypto';

// RFC 4648 base32 to bytes.
export function base32(s) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, acc = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '')) {
    acc = (acc << 5) | alpha.indexOf(ch);
    bits += 5;
    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); }
  }
  return Buffer.from(out);
}

// The code of a base32 secret at time t (seconds; default now).
export function totp(secret, t = Date.now() / 1000) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[19] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}
