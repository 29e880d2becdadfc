/* preload/real.c — the real libc entry points behind every interposed call, looked up
 * with dlsym(RTLD_NEXT) once (pthread_once), by the constructor or by whichever
 * interposed call runs first (another library's constructor may call socket() before ours).
 * Call chain: any shim file -> pl_real.X (after pl_real_init) -> libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shim.h"

struct pl_real pl_real;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* Looks one symbol up; a missing one is fatal only when `required` (libc without it
 * cannot run the program the shim wraps anyway). No stdio here: it may not be ready. */
static void *resolve(const char *name, bool required)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p && required) {
        static const char pre[] = "plebnet-preload: libc lacks ";
        ssize_t w = write(2, pre, sizeof(pre) - 1);
        w = write(2, name, strlen(name));
        w = write(2, "\n", 1);
        (void)w;
        abort();
    }
    return p;
}

#define R(field, req) pl_real.field = (__typeof__(pl_real.field))resolve(#field, req)

static void real_init_once(void)
{
    R(socket, true);
    R(socketpair, true);
    R(bind, true);
    R(listen, true);
    R(accept, true);
    R(accept4, true);
    R(connect, true);
    R(send, true);
    R(sendto, true);
    R(sendmsg, true);
    R(sendmmsg, true);
    R(recv, true);
    R(recvfrom, true);
    R(recvmsg, true);
    R(recvmmsg, true);
    R(read, true);
    R(write, true);
    R(readv, true);
    R(writev, true);
    R(__read_chk, false);
    R(__recv_chk, false);
    R(__recvfrom_chk, false);
    R(sendfile, true);
    R(sendfile64, false);
    R(close, true);
    R(shutdown, true);
    R(getsockopt, true);
    R(setsockopt, true);
    R(getsockname, true);
    R(getpeername, true);
    R(fcntl, true);
    R(fcntl64, false);
    R(ioctl, true);
    R(dup, true);
    R(dup2, true);
    R(dup3, true);
    R(poll, true);
    R(ppoll, true);
    R(getaddrinfo, true);
    R(freeaddrinfo, true);
    R(getnameinfo, true);
    R(gethostbyname, true);
    R(gethostbyname2, true);
    R(gethostbyname_r, true);
    R(gethostbyname2_r, true);
    R(gethostbyaddr, true);
    R(gethostbyaddr_r, true);
    /* glibc before 2.28 has no fcntl64; fcntl is the same call on 64-bit targets. */
    if (!pl_real.fcntl64)
        pl_real.fcntl64 = pl_real.fcntl;
    if (!pl_real.sendfile64)
        pl_real.sendfile64 = (ssize_t(*)(int, int, off64_t *, size_t))pl_real.sendfile;
}

void pl_real_init(void)
{
    pthread_once(&real_once, real_init_once);
}

__attribute__((constructor)) static void real_ctor(void)
{
    pl_real_init();
}
