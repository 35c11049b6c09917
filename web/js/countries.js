// ISO 3166-1 alpha-2 codes the server accepts (lib/util.c COUNTRIES), with English names
// from the browser's Intl data, for the country selects and jurisdiction lists.

export const COUNTRY_CODES = ('AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ '
  + 'BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM '
  + 'DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS '
  + 'GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN '
  + 'KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ '
  + 'MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM '
  + 'PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV '
  + 'SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI '
  + 'VN VU WF WS YE YT ZA ZM ZW').split(' ');

let names = null;

// The English name of a country code, or the code itself when the browser has no name.
export function countryName(code) {
  if (names === null) {
    try { names = new Intl.DisplayNames(['en'], { type: 'region' }); } catch { names = false; }
  }
  try { return (names && names.of(code)) || code; } catch { return code; }
}

// "NL — Netherlands" style label.
export function countryLabel(code) {
  if (!code) return '—';
  const name = countryName(code);
  return name && name !== code ? `${code} — ${name}` : code;
}

// [value, label] pairs of every country sorted by name, for field({type:'select'}).
export function countryOptions(placeholder) {
  const opts = COUNTRY_CODES.map((c) => [c, `${countryName(c)} (${c})`]);
  opts.sort((a, b) => a[1].localeCompare(b[1], 'en'));
  return placeholder ? [['', placeholder], ...opts] : opts;
}

// Parses "NL, be de" into upper-case codes; bad lists the entries that are not codes.
export function parseCountryList(text) {
  const items = String(text || '').split(/[\s,;]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
  const codes = [];
  const bad = [];
  for (const c of items) {
    if (!COUNTRY_CODES.includes(c)) bad.push(c);
    else if (!codes.includes(c)) codes.push(c);
  }
  return { codes, bad };
}
