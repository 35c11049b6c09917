/*
 * mail - pipe a message to the configured mail command.
 */
#include "mail.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* Write the message to mail_command's stdin and wait for it to finish. */
int mail_send(const struct config *cfg, const char *to, const char *subject, const char *body, char *err,
              size_t errlen)
{
    if (!cfg->mail_command[0])
        return fail(err, errlen, CP_NOTFOUND, "no mail_command configured");
    if (!util_is_clean_text(to, 254) || strpbrk(to, " <>,;"))
        return fail(err, errlen, CP_BAD, "not a plain email address");
    /* A mail command that exits early must not kill the worker. */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *p = popen(cfg->mail_command, "w");
    if (!p) {
        signal(SIGPIPE, old);
        return fail(err, errlen, CP_ERR, "cannot start the mail command");
    }
    fprintf(p, "To: %s\nSubject: %s\nContent-Type: text/plain; charset=utf-8\nAuto-Submitted: auto-generated\n\n%s",
            to, subject, body);
    int rc = pclose(p);
    signal(SIGPIPE, old);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        return fail(err, errlen, CP_ERR, "the mail command failed (status %d)", rc);
    return CP_OK;
}
