/* log.c — plebnetd logging: one line per event, to stderr in the foreground and to syslog
 * (LOG_DAEMON) otherwise. Called from every daemon file; pnd_fatal* end the process. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "pnd.h"

static bool log_stderr = true;
static bool log_debug_on;

void pnd_log_init(const char *ident, bool foreground)
{
    log_stderr = foreground;
    log_debug_on = getenv("PLEBNETD_DEBUG") != NULL;
    tzset(); /* load the zone before any chroot */
    if (!foreground)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void vlog(int pri, const char *fmt, va_list ap)
{
    if (log_stderr) {
        char line[1024];
        vsnprintf(line, sizeof(line), fmt, ap);
        fprintf(stderr, "plebnetd[%d]: %s\n", (int)getpid(), line);
        fflush(stderr);
    } else {
        vsyslog(pri, fmt, ap);
    }
}

void pnd_log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_INFO, fmt, ap);
    va_end(ap);
}

void pnd_log_debug(const char *fmt, ...)
{
    if (!log_debug_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

void pnd_log_warnx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_WARNING, fmt, ap);
    va_end(ap);
}

static void vlog_errno(int pri, int err, const char *fmt, va_list ap)
{
    char msg[900];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_stderr) {
        fprintf(stderr, "plebnetd[%d]: %s: %s\n", (int)getpid(), msg, strerror(err));
        fflush(stderr);
    } else {
        syslog(pri, "%s: %s", msg, strerror(err));
    }
}

void pnd_log_warn(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog_errno(LOG_WARNING, err, fmt, ap);
    va_end(ap);
    errno = err;
}

void pnd_fatal(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog_errno(LOG_CRIT, err, fmt, ap);
    va_end(ap);
    exit(1);
}

void pnd_fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_CRIT, fmt, ap);
    va_end(ap);
    exit(1);
}
