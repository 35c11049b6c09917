/*
 * fuzz_body - libFuzzer target for JSON request bodies through the real
 * validators: ctx_json_body (cJSON, object check), ctx_known_fields, ctx_str,
 * ctx_bool, and each route's own rules, driven through api_dispatch on the
 * fixture of apifuzz.h. The first input byte picks the route, the rest is the
 * body (NUL-terminated after its end, as cport-fcgi reads it):
 *   's' POST  /api/v1/session          sign-in (anonymous)
 *   'a' POST  /api/v1/access-requests  an agency's request (anonymous)
 *   'm' POST  /api/v1/match            hash matching (NL analyst's token)
 *   'p' POST  /api/v1/packages         package composition, report ids or a
 *                                      filter replayed through reports_parse_filter
 *   'f' PATCH /api/v1/me/preferences   preview preferences
 * any other byte: the route of that byte modulo 5, in this order. Writes
 * change the fixture's database; apifuzz.h puts it back after each input.
 */
#include "apifuzz.h"

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        char key;
        const char *method, *path;
        int signed_in;
    } routes[] = {{'s', "POST", "/api/v1/session", 0},
                  {'a', "POST", "/api/v1/access-requests", 0},
                  {'m', "POST", "/api/v1/match", 1},
                  {'p', "POST", "/api/v1/packages", 1},
                  {'f', "PATCH", "/api/v1/me/preferences", 1}};
    if (size == 0)
        return 0;
    af_setup();
    size_t r = data[0] % 5;
    for (size_t i = 0; i < 5; i++)
        if (routes[i].key == (char)data[0])
            r = i;
    char *body = malloc(size);
    if (!body)
        abort();
    memcpy(body, data + 1, size - 1);
    body[size - 1] = 0;
    char bearer[AUTH_TOKEN_LEN + 8];
    snprintf(bearer, sizeof bearer, "Bearer %s", AF.token);
    af_dispatch(&(struct af_req){.method = routes[r].method, .path = routes[r].path,
                                 .authorization = routes[r].signed_in ? bearer : NULL,
                                 .content_type = "application/json", .body = body, .body_len = size - 1});
    free(body);
    return 0;
}

#include "replay.h"
