/*
 * fuzz_cookie - libFuzzer target for the credentials a request carries:
 * lib/api.c's session_cookie (the Cookie header split on ';' and spaces,
 * cport_session picked out) and the Authorization header ("Bearer " and the
 * token), then auth_session / auth_bearer in lib/auth.c (length and prefix
 * checks, lookup by hash, expiry, the token's address list), driven through
 * api_dispatch as GET /api/v1/me on the fixture of apifuzz.h.
 *
 * The first input byte picks the header: 'A' sends the rest as the
 * Authorization header, anything else as the Cookie header (the rest is taken
 * up to its first NUL byte). In it "@SESSION@", "@TOKEN@" and "@CSRF@" are
 * replaced by the fixture's session id, API token and CSRF token, so seeds can
 * carry credentials that only exist at run time.
 */
#include "apifuzz.h"

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    af_setup();
    char *raw = af_text(data + 1, size - 1), *s = af_expand(raw);
    int auth = data[0] == 'A';
    af_dispatch(&(struct af_req){.method = "GET", .path = "/api/v1/me", .cookie = auth ? NULL : s,
                                 .authorization = auth ? s : NULL});
    free(s);
    free(raw);
    return 0;
}

#include "replay.h"
