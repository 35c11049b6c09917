/*
 * domain - the registrable domain ("eTLD+1") of a URL or host name, as reports
 * store it in reports.domain and IWOL lists it: lower case, no trailing dot,
 * internationalised names as punycode (xn--), decided by the Public Suffix List
 * built into libpsl. IP literals stand for themselves.
 */
#ifndef CPORT_DOMAIN_H
#define CPORT_DOMAIN_H

#include <stddef.h>

/* Longest host name DNS allows (253) plus brackets of an IPv6 literal and NUL. */
#define DOMAIN_MAX 256

/*
 * Write the registrable domain of url_or_host into out (outlen bytes; DOMAIN_MAX
 * always suffices). Accepts an absolute URL of any scheme (userinfo, port, path,
 * query and fragment are ignored), a scheme-relative "//host/..." or a bare host
 * (optionally with a port or path). The host is lower-cased, a trailing dot
 * dropped and non-ASCII labels encoded as punycode (RFC 3492). An IPv4 address is
 * returned as is, an IPv6 literal in its brackets ("[2001:db8::1]", lower case).
 * Unknown TLDs such as .test and .example follow the PSL default rule (the last two
 * labels). Returns CP_OK, or CP_BAD with a reason in err for an empty or malformed
 * host, or a host that is itself a public suffix ("co.uk", "com").
 */
int domain_registrable(const char *url_or_host, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Encode one Unicode label (UTF-8, already lower-cased) as an ASCII "xn--" label
 * per RFC 3492 into out. A pure-ASCII label is copied unchanged. Returns CP_OK, or
 * CP_BAD for invalid UTF-8 or when the result would not fit outlen or exceed the
 * 63-byte DNS label limit.
 */
int domain_punycode_label(const char *label, size_t len, char *out, size_t outlen);

#endif
