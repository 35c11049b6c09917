/*
 * feedcurl - the one libcurl set-up for talking to the ICCAM feed, shared by
 * the page import (importer) and the media fetch (mfetch): http and https only,
 * no redirects (a redirect could carry the token elsewhere), the feed's CA,
 * client certificate and bearer token, a whole-transfer timeout and a size cap.
 */
#ifndef CPORT_FEEDCURL_H
#define CPORT_FEEDCURL_H

#include <curl/curl.h>
#include <stddef.h>

struct feedcurl_opts {
    const char *token;       /* bearer token; NULL: none */
    const char *ca_file, *client_cert, *client_key; /* NULL: system store / none */
    int timeout_s;           /* whole transfer; the connect timeout is at most 30 s of it */
    long max_bytes;          /* CURLOPT_MAXFILESIZE; the sink must still count */
    const char *user_agent;
    const char *accept;      /* the Accept header's value */
    int compressed;          /* ask for gzip/deflate (pages); never for media */
    size_t (*sink)(char *data, size_t size, size_t nmemb, void *arg);
    void *sink_arg;
};

/* A configured easy handle, or NULL when libcurl cannot make one; *hdrs gets the
 * header list to free with curl_slist_free_all after the handle. The token is
 * wiped from the temporary it was formatted in. */
CURL *feedcurl_handle(const struct feedcurl_opts *o, struct curl_slist **hdrs);

#endif
