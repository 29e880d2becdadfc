/* core/util.h — small helpers shared by the whole library: container_of, min/max. */
#ifndef PN_CORE_UTIL_H
#define PN_CORE_UTIL_H

#include <stddef.h>

#define pn_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define PN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define PN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PN_UNUSED(x) ((void)(x))

#endif
