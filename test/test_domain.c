/*
 * test_domain - registrable domains of URLs and hosts: URL parts ignored, case and
 * trailing dots normalised, PSL multi-label suffixes, IDN to punycode, IP literals,
 * public suffixes refused.
 */
#include "domain.h"
#include "test.h"
#include "util.h"

/* The registrable domain of in, or "ERR" when it is refused. */
static const char *reg(const char *in)
{
    static char out[DOMAIN_MAX];
    char err[200];
    if (domain_registrable(in, out, sizeof out, err, sizeof err) != CP_OK)
        return "ERR";
    return out;
}

/* Scheme, userinfo, port, path, query and fragment are all ignored. */
static void test_url_parts(void)
{
    CHECK_STR(reg("https://gallery.example.test/album/77?page=2"), "example.test");
    CHECK_STR(reg("http://user:pw@www.shop.example:8080/x#frag"), "shop.example");
    CHECK_STR(reg("ftp://files.example.test"), "example.test");
    CHECK_STR(reg("https://a.example.test?q=1"), "example.test");
    CHECK_STR(reg("https://a.example.test#top"), "example.test");
    CHECK_STR(reg("//cdn.example.test/i.jpg"), "example.test");
    CHECK_STR(reg("www.example.test:443/path"), "example.test");
    CHECK_STR(reg("https://u@h@x.y.example.test/"), "example.test");
    CHECK_STR(reg("https://example.test:abc/"), "ERR");
}

/* Upper case and a trailing dot give the same answer as the plain host. */
static void test_case_and_dot(void)
{
    CHECK_STR(reg("HTTPS://WWW.Example.TEST/Path"), "example.test");
    CHECK_STR(reg("www.example.test."), "example.test");
    CHECK_STR(reg("https://www.example.test.:8443/"), "example.test");
    CHECK_STR(reg("example.test"), "example.test");
}

/* Multi-label public suffixes from the PSL; unknown TLDs take the last two labels. */
static void test_suffixes(void)
{
    CHECK_STR(reg("a.b.example.co.uk"), "example.co.uk");
    CHECK_STR(reg("https://x.y.z.example.com.au/p"), "example.com.au");
    CHECK_STR(reg("deep.sub.host.example"), "host.example");
    CHECK_STR(reg("one.two.three.test"), "three.test");
}

/* Internationalised names become punycode, lower-cased first. */
static void test_idn(void)
{
    CHECK_STR(reg("bücher.example"), "xn--bcher-kva.example");
    CHECK_STR(reg("https://www.BÜCHER.example/über"), "xn--bcher-kva.example");
    CHECK_STR(reg("xn--bcher-kva.example"), "xn--bcher-kva.example");
    CHECK_STR(reg("münchen.example.test"), "example.test");
    /* RFC 3492 sample: Chinese (simplified) */
    CHECK_STR(reg("他们为什么不说中文.test"), "xn--ihqwcrb4cv8a8dqg056pqjye.test");
    CHECK_STR(reg("xn--fsq.example"), "xn--fsq.example");
    CHECK_STR(reg("例.example"), "xn--fsq.example");
    char out[64];
    CHECK_INT(domain_punycode_label("\xff", 1, out, sizeof out), CP_BAD);
}

/* A bare public suffix, empty and malformed hosts are refused. */
static void test_refused(void)
{
    CHECK_STR(reg("co.uk"), "ERR");
    CHECK_STR(reg("com"), "ERR");
    CHECK_STR(reg("https://co.uk/"), "ERR");
    CHECK_STR(reg("test"), "ERR");
    CHECK_STR(reg(""), "ERR");
    CHECK_STR(reg("https:///path"), "ERR");
    CHECK_STR(reg("a..example.test"), "ERR");
    CHECK_STR(reg("bad host.example"), "ERR");
    CHECK_STR(reg("192.0.2.300"), "ERR");
    char err[200];
    char out[DOMAIN_MAX];
    CHECK_INT(domain_registrable("co.uk", out, sizeof out, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "public suffix") != NULL);
}

/* IP literals are their own "domain". */
static void test_ips(void)
{
    CHECK_STR(reg("192.0.2.10"), "192.0.2.10");
    CHECK_STR(reg("http://198.51.100.7:8080/x"), "198.51.100.7");
    CHECK_STR(reg("https://[2001:DB8::1]:443/x"), "[2001:db8::1]");
    CHECK_STR(reg("[2001:db8::5]"), "[2001:db8::5]");
    CHECK_STR(reg("https://[2001:db8::zz]/"), "ERR");
}

int main(void)
{
    RUN(test_url_parts);
    RUN(test_case_and_dot);
    RUN(test_suffixes);
    RUN(test_idn);
    RUN(test_refused);
    RUN(test_ips);
    return TEST_DONE();
}
