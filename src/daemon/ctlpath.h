/* ctlpath.h - where vspaced's control socket is: the default and [host] control_socket, readable alone (vspacectl -c). */
#ifndef VS_DAEMON_CTLPATH_H
#define VS_DAEMON_CTLPATH_H

#include <stddef.h>

/* The control socket when the configuration names none. */
#define CTLPATH_DEFAULT "/run/vspace/vspaced.sock"
/* Longest socket path, with its NUL (sun_path). */
#define CTLPATH_MAX 108

/* A control_socket= value: "off" (out = "") or an absolute path shorter
 * than CTLPATH_MAX. Returns 0, or -1 with err ("\"x\" is not an absolute
 * path"). */
int ctlpath_parse(const char *value, char *out, size_t len, char *err, size_t errlen);

/* The control socket named by the configuration file at path ([host]
 * control_socket, else the default; "" for off), reading nothing else of it
 * (vspaced -n checks the rest). Returns 0, or -1 with err as
 * "FILE:LINE: [host] control_socket: what is wrong" or "FILE: why it
 * cannot be read". */
int ctlpath_from_config(const char *path, char *out, size_t len, char *err, size_t errlen);

#endif
