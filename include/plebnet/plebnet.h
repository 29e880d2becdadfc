/* plebnet/plebnet.h — umbrella header of libplebnet, a userspace TCP/IP stack. */
#ifndef PLEBNET_PLEBNET_H
#define PLEBNET_PLEBNET_H

#include "plebnet/errors.h"
#include "plebnet/addr.h"
#include "plebnet/pbuf.h"
#include "plebnet/link.h"
#include "plebnet/fault.h"
#include "plebnet/stats.h"
#include "plebnet/stack.h"
#include "plebnet/socket.h"
#include "plebnet/vxlan.h"

#define PLEBNET_VERSION_MAJOR 0
#define PLEBNET_VERSION_MINOR 1
#define PLEBNET_VERSION_PATCH 0
#define PLEBNET_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif
/* The library's version string (may differ from the header's if linked dynamically). */
const char *pn_version(void);
#ifdef __cplusplus
}
#endif
#endif
