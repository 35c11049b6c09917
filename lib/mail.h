/*
 * mail - hand a message to the operator's mail system. cport does not speak
 * SMTP: `mail_command` (e.g. "/usr/sbin/sendmail -t") gets the message with its
 * To and Subject headers on stdin, as sendmail -t expects. Without one, nothing
 * is sent and the caller shows the link to the person who made it instead.
 */
#ifndef CPORT_MAIL_H
#define CPORT_MAIL_H

#include "config.h"

#include <stddef.h>

/* Send one plain-text message. to must be a validated address (no CR/LF); the
 * subject and body are ours. CP_OK, CP_NOTFOUND when no mail_command is set,
 * CP_ERR when the command fails (err says why). Never inside a transaction:
 * it runs another program. */
int mail_send(const struct config *cfg, const char *to, const char *subject, const char *body, char *err,
              size_t errlen);

#endif
