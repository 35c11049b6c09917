/*
 * fuzz_query - libFuzzer target for the query string and request path of GET
 * requests: lib/api.c's parse_query and url_decode (splitting on '&' and '=',
 * percent-decoding, '+', bad escapes, %00, too many parameters),
 * ctx_check_params, reports_parse_filter's validators (lists, enums, countries,
 * dates, domains, sort, limit, base64url cursors) and the searches and facets
 * they feed, all driven through api_dispatch on the fixture of apifuzz.h.
 *
 * An input is one request target, up to its first NUL byte:
 *   - starting with '/': "PATH[?QUERY]", a GET of that path (any route of the
 *     real table, {id} segments included) by the NL analyst's API token;
 *   - otherwise a query string, sent as GET /api/v1/reports by the NL analyst
 *     (media metadata shared: classification filters allowed) and as
 *     GET /api/v1/stats by the DE viewer (no media metadata: those refused).
 */
#include "apifuzz.h"

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    af_setup();
    char *s = af_text(data, size);
    char analyst[AUTH_TOKEN_LEN + 8], viewer[AUTH_TOKEN_LEN + 8];
    snprintf(analyst, sizeof analyst, "Bearer %s", AF.token);
    snprintf(viewer, sizeof viewer, "Bearer %s", AF.viewer_token);
    if (s[0] == '/') {
        char *q = strchr(s, '?');
        if (q)
            *q++ = 0;
        af_dispatch(&(struct af_req){.method = "GET", .path = s, .query = q ? q : "", .authorization = analyst});
    } else {
        af_dispatch(&(struct af_req){.method = "GET", .path = "/api/v1/reports", .query = s, .authorization = analyst});
        af_dispatch(&(struct af_req){.method = "GET", .path = "/api/v1/stats", .query = s, .authorization = viewer});
    }
    free(s);
    return 0;
}

#include "replay.h"
