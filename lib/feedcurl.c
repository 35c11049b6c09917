/*
 * feedcurl - the feed's libcurl handle: see feedcurl.h.
 */
#include "feedcurl.h"
#include "util.h"

#include <string.h>

/* See feedcurl.h. */
CURL *feedcurl_handle(const struct feedcurl_opts *o, struct curl_slist **hdrs)
{
    *hdrs = NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)o->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(o->timeout_s < 30 ? o->timeout_s : 30));
    curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent);
    if (o->compressed)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, o->sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, o->sink_arg);
    if (o->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    if (o->client_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
    if (o->client_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
    struct buf h;
    buf_init(&h);
    buf_printf(&h, "Accept: %s", o->accept);
    *hdrs = curl_slist_append(NULL, h.p);
    if (o->token) {
        buf_reset(&h);
        buf_printf(&h, "Authorization: Bearer %s", o->token);
        *hdrs = curl_slist_append(*hdrs, h.p);
        memset(h.p, 0, h.len);
    }
    buf_free(&h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return c;
}
