/* config.c - vspaced's INI configuration (SPEC §8): parse with inih, check, and name file:line on every error. */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/ctlpath.h"
#include "daemon/hostlock.h"
#include "lib/strutil.h"
#include "proto/transport.h"

/* What the parse keeps besides the configuration: where things were. */
struct config_parse {
	struct vsd_config *c;
	FILE *f;	  /* the file, or NULL when reading text */
	const char *text; /* the rest of the text */
	int lineno;	  /* the line inih is looking at */
	size_t offset;	  /* byte offset of that line's start in the file */
	char *buf;	  /* getline's buffer (a file) */
	size_t buf_cap;
	int read_errno;				 /* a read error ended the file early */
	int hdr_host, hdr_threshold, hdr_memnet; /* line of each section's header */
	int err_line;				 /* the first error (0 = none) */
	char err[512];
	/* lines of keys that later checks refer to */
	int line_host, line_cores, line_reserved, line_housekeeping, line_mode, line_policy;
	int line_threshold, line_nic_netns, line_last;
	char seen_host[32][24]; /* [host] keys seen, for duplicates */
	int seen_host_line[32], n_seen_host;
	int cur_wl; /* index of the workload section being read, -1 */
	int cap_keylines;
	int *wl_src_line;    /* line of each workload's source key (0 = none) */
	int *wl_agent_line;  /* line of each workload's agent= (0 = none) */
	int *wl_memnet_line; /* line of each workload's memnet= (0 = none) */
	int cap_wl;
	int line_memnet, line_memnet_budget, line_memnet_slo;
};

static void config_fail(struct config_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void config_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line)
		return; /* the first error is the one reported */
	p->err_line = p->lineno > 0 ? p->lineno : 1;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

/* Where the bytes of one line are wrong: a NUL, a control character, bytes
 * that are not UTF-8. Returns the offset of the first bad byte in the line
 * and a description, or -1 when the line is clean. A line end (\n, \r\n) and
 * tabs are fine. */
static long config_bad_byte(const unsigned char *b, size_t len, char *what, size_t wlen)
{
	for (size_t i = 0; i < len;) {
		unsigned c = b[i];
		size_t n = 0;
		unsigned min = 0, cp;

		if (c == 0) {
			snprintf(what, wlen, "a NUL byte");
			return (long)i;
		}
		if (c < 0x80) {
			bool eol = c == '\n' || (c == '\r' && i + 1 < len && b[i + 1] == '\n');
			if ((c < 0x20 && c != '\t' && !eol) || c == 0x7f) {
				snprintf(what, wlen, "control character 0x%02x", c);
				return (long)i;
			}
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, min = 0x80, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 2, min = 0x800, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 3, min = 0x10000, cp = c & 0x07;
		else
			cp = 0;
		bool ok = n > 0;
		for (size_t k = 1; ok && k <= n; k++) {
			if (i + k >= len || (b[i + k] & 0xc0) != 0x80)
				ok = false;
			else
				cp = cp << 6 | (b[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8 */
		if (!ok || cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
			snprintf(what, wlen, "byte 0x%02x that is not UTF-8", c);
			return (long)i;
		}
		i += n + 1;
	}
	return -1;
}

/* A section header on this line: `[name]`, checked here (rather than by inih)
 * so that an unterminated one and a second [host] are named at their own line. */
static void config_header(struct config_parse *p, const char *line)
{
	const char *s = line + strspn(line, " \t"), *end;
	char name[64];
	size_t n;

	if (*s != '[')
		return;
	end = strchr(s, ']');
	if (!end) {
		config_fail(p, "unterminated section header: a header is [host], [threshold] or "
			       "[workload \"NAME\"] on one line");
		return;
	}
	n = (size_t)(end - s - 1);
	if (n >= sizeof(name))
		return; /* too long to be [host] or [threshold]: the handler names it */
	memcpy(name, s + 1, n);
	name[n] = '\0';
	if (!strcmp(name, "host") || !strcmp(name, "threshold") || !strcmp(name, "memnet")) {
		int *first = !strcmp(name, "host")	  ? &p->hdr_host
			     : !strcmp(name, "threshold") ? &p->hdr_threshold
							  : &p->hdr_memnet;
		if (*first)
			config_fail(p,
				    "[%s]: section given twice (first at line %d); give each key "
				    "once, in one section",
				    name, *first);
		else
			*first = p->lineno;
	}
}

/* inih's reader: one physical line at a time, counting them and their bytes. */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char line[4096], what[64];
	size_t len;
	long bad;

	if (p->f) {
		ssize_t k = getline(&p->buf, &p->buf_cap, p->f);
		if (k < 0) {
			if (ferror(p->f))
				p->read_errno = errno ? errno : EIO;
			return NULL;
		}
		len = (size_t)k;
		str_copy(line, p->buf, len + 1 < sizeof(line) ? len + 1 : sizeof(line));
	} else {
		const char *nl;
		if (!p->text || !*p->text)
			return NULL;
		nl = strchr(p->text, '\n');
		len = nl ? (size_t)(nl - p->text + 1) : strlen(p->text);
		str_copy(line, p->text, len + 1 < sizeof(line) ? len + 1 : sizeof(line));
		p->buf = NULL;
		p->text += len;
	}
	p->lineno++;
	p->line_last = p->lineno;
	bad = config_bad_byte(p->f ? (const unsigned char *)p->buf
				   : (const unsigned char *)p->text - len,
			      len, what, sizeof(what));
	if (bad >= 0) {
		config_fail(p, "%s at byte offset %ld (column %ld); a configuration is UTF-8 text",
			    what, (long)p->offset + bad, bad + 1);
		line[0] = '\0';
	} else if (len > (size_t)VSD_CONFIG_LINE_MAX + 1 ||
		   (len == (size_t)VSD_CONFIG_LINE_MAX + 1 && line[len - 1] != '\n')) {
		config_fail(p, "line longer than %d characters", VSD_CONFIG_LINE_MAX);
		line[0] = '\0';
	} else {
		config_header(p, line);
	}
	p->offset += len;
	str_copy(str, line, (size_t)num);
	return str;
}

/* ---- Value parsers (each reports through config_fail) --------------------------------- */

static bool config_cpus(struct config_parse *p, const char *sect, const char *key,
			const char *value, struct vs_cpuset *out)
{
	char err[256];

	if (cpuset_parse_list(out, value, err, sizeof(err)) < 0) {
		config_fail(p, "[%s] %s: %s", sect, key, err);
		return false;
	}
	return true;
}

static bool config_long(struct config_parse *p, const char *sect, const char *key,
			const char *value, long lo, long hi, long *out)
{
	if (str_to_long(value, lo, hi, out) < 0) {
		config_fail(p, "[%s] %s: \"%s\" is not a whole number in [%ld, %ld]", sect, key,
			    value, lo, hi);
		return false;
	}
	return true;
}

static bool config_double(struct config_parse *p, const char *sect, const char *key,
			  const char *value, double lo, double hi, double *out)
{
	if (str_to_double(value, lo, hi, out) < 0) {
		config_fail(p, "[%s] %s: \"%s\" is not a number in [%g, %g]", sect, key, value, lo,
			    hi);
		return false;
	}
	return true;
}

static bool config_bool(struct config_parse *p, const char *sect, const char *key,
			const char *value, bool *out)
{
	if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "1"))
		*out = true;
	else if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "0"))
		*out = false;
	else {
		config_fail(p, "[%s] %s: \"%s\" is not on/off", sect, key, value);
		return false;
	}
	return true;
}

static bool config_str(struct config_parse *p, const char *sect, const char *key, const char *value,
		       char *dst, size_t len)
{
	if (strlen(value) >= len) {
		config_fail(p, "[%s] %s: longer than %zu characters", sect, key, len - 1);
		return false;
	}
	str_copy(dst, value, len);
	return true;
}

static bool config_abs_path(struct config_parse *p, const char *sect, const char *key,
			    const char *value, char *dst, size_t len)
{
	if (value[0] != '/') {
		config_fail(p, "[%s] %s: \"%s\" is not an absolute path", sect, key, value);
		return false;
	}
	return config_str(p, sect, key, value, dst, len);
}

/* Interface and namespace names end up in paths: no '/' and no "..". */
static bool config_name(struct config_parse *p, const char *sect, const char *key,
			const char *value, char *dst, size_t len)
{
	if (!value[0] || strchr(value, '/') || !strcmp(value, ".") || !strcmp(value, "..") ||
	    strchr(value, ' ')) {
		config_fail(p, "[%s] %s: \"%s\" is not a valid name", sect, key, value);
		return false;
	}
	return config_str(p, sect, key, value, dst, len);
}

/* A network namespace: NAME or /run/netns/NAME (what `ip netns add NAME` makes). */
static bool config_netns(struct config_parse *p, const char *sect, const char *key,
			 const char *value, char *dst, size_t len)
{
	static const char dir[] = "/run/netns/";

	if (value[0] == '/') {
		if (strncmp(value, dir, sizeof(dir) - 1) != 0) {
			config_fail(p,
				    "[%s] %s: \"%s\" is not a namespace name or /run/netns/NAME "
				    "(`ip netns` names)",
				    sect, key, value);
			return false;
		}
		value += sizeof(dir) - 1;
	}
	return config_name(p, sect, key, value, dst, len);
}

/* ---- Sections ------------------------------------------------------------------------- */

static void config_host(struct config_parse *p, const char *key, const char *value)
{
	struct vsd_config *c = p->c;
	long v;

	if (!p->line_host)
		p->line_host = p->lineno;
	for (int i = 0; i < p->n_seen_host; i++)
		if (strcmp(p->seen_host[i], key) == 0) {
			config_fail(p, "[host] %s: set twice (first at line %d)", key,
				    p->seen_host_line[i]);
			return;
		}
	if (p->n_seen_host < 32 && strlen(key) < sizeof(p->seen_host[0])) {
		str_copy(p->seen_host[p->n_seen_host], key, sizeof(p->seen_host[0]));
		p->seen_host_line[p->n_seen_host++] = p->lineno;
	}
	if (!strcmp(key, "cores")) {
		p->line_cores = p->lineno;
		if (config_cpus(p, "host", key, value, &c->cores) && cpuset_empty(&c->cores))
			config_fail(p, "[host] cores: empty: vspace needs cores to manage");
	} else if (!strcmp(key, "reserved")) {
		p->line_reserved = p->lineno;
		config_cpus(p, "host", key, value, &c->reserved);
	} else if (!strcmp(key, "housekeeping")) {
		p->line_housekeeping = p->lineno;
		if (config_cpus(p, "host", key, value, &c->housekeeping))
			c->has_housekeeping = !cpuset_empty(&c->housekeeping);
	} else if (!strcmp(key, "nic")) {
		config_name(p, "host", key, value, c->nic, sizeof(c->nic));
	} else if (!strcmp(key, "nic_netns")) {
		p->line_nic_netns = p->lineno;
		config_netns(p, "host", key, value, c->nic_netns, sizeof(c->nic_netns));
	} else if (!strcmp(key, "mode")) {
		p->line_mode = p->lineno;
		if (!strcmp(value, "P") || !strcmp(value, "p"))
			str_copy(c->policy, "vspace-p", sizeof(c->policy));
		else if (!strcmp(value, "E") || !strcmp(value, "e"))
			str_copy(c->policy, "vspace-e", sizeof(c->policy));
		else if (!strcmp(value, "R") || !strcmp(value, "r"))
			str_copy(c->policy, "vspace-r", sizeof(c->policy));
		else
			config_fail(p, "[host] mode: \"%s\" is not P, E or R", value);
	} else if (!strcmp(key, "policy")) {
		p->line_policy = p->lineno;
		config_str(p, "host", key, value, c->policy, sizeof(c->policy));
	} else if (!strcmp(key, "period_ms")) {
		if (config_long(p, "host", key, value, VSD_PERIOD_MS_MIN, VSD_PERIOD_MS_MAX, &v))
			c->period_ms = (int)v;
	} else if (!strcmp(key, "placement")) {
		int pl = vs_placement_parse(value);
		if (pl < 0)
			config_fail(p,
				    "[host] placement: \"%s\" is not auto, cgroup2, cgroup1, "
				    "libvirt or "
				    "affinity",
				    value);
		else
			c->placement = (enum vs_placement)pl;
	} else if (!strcmp(key, "control_socket")) {
		char e[256];
		if (ctlpath_parse(value, c->control_socket, sizeof(c->control_socket), e,
				  sizeof(e)) < 0)
			config_fail(p, "[host] control_socket: %s", e);
	} else if (!strcmp(key, "control_group")) {
		struct group *g = getgrnam(value);
		if (!g)
			config_fail(p, "[host] control_group: no group named \"%s\"", value);
		else {
			c->control_gid = g->gr_gid;
			c->has_control_gid = true;
		}
	} else if (!strcmp(key, "state_dir")) {
		config_abs_path(p, "host", key, value, c->state_dir, sizeof(c->state_dir));
	} else if (!strcmp(key, "lock_file")) {
		config_abs_path(p, "host", key, value, c->lock_file, sizeof(c->lock_file));
	} else if (!strcmp(key, "metrics_listen")) {
		char buf[64], *colon;
		long port;
		if (!strcmp(value, "off") || !value[0]) {
			c->metrics_listen[0] = '\0';
			return;
		}
		if (!config_str(p, "host", key, value, buf, sizeof(buf)))
			return;
		colon = strrchr(buf, ':');
		if (!colon || colon == buf || str_to_long(colon + 1, 1, 65535, &port) < 0) {
			config_fail(p,
				    "[host] metrics_listen: \"%s\" is not HOST:PORT (e.g. "
				    "127.0.0.1:9465) or off",
				    value);
			return;
		}
		str_copy(c->metrics_listen, value, sizeof(c->metrics_listen));
	} else if (!strcmp(key, "metrics_textfile")) {
		if (strcmp(value, "off") == 0)
			c->metrics_textfile[0] = '\0';
		else
			config_abs_path(p, "host", key, value, c->metrics_textfile,
					sizeof(c->metrics_textfile));
	} else if (!strcmp(key, "on_exit")) {
		if (!strcmp(value, "restore"))
			c->on_exit_restore = true;
		else if (!strcmp(value, "leave"))
			c->on_exit_restore = false;
		else
			config_fail(p, "[host] on_exit: \"%s\" is not restore or leave", value);
	} else if (!strcmp(key, "rt_priority")) {
		if (config_long(p, "host", key, value, 0, 99, &v))
			c->rt_priority = (int)v;
	} else if (!strcmp(key, "cgroup_parent")) {
		if (!value[0] || value[0] == '/' || strstr(value, "..") ||
		    value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789-_./")] != '\0')
			config_fail(p,
				    "[host] cgroup_parent: \"%s\" must be a relative path of A-Z "
				    "a-z 0-9 "
				    "- _ . / without \"..\"",
				    value);
		else
			config_str(p, "host", key, value, c->cgroup_parent,
				   sizeof(c->cgroup_parent));
	} else if (!strcmp(key, "libvirt_uri")) {
		config_str(p, "host", key, value, c->libvirt_uri, sizeof(c->libvirt_uri));
	} else if (!strcmp(key, "coalesce_rx_usecs")) {
		if (config_long(p, "host", key, value, 0, 100000, &v))
			c->coalesce_rx_usecs = (int)v;
	} else if (!strcmp(key, "halt_poll_accounting")) {
		if (vs_hp_accounting_parse(value, &c->halt_poll, &c->halt_poll_source) < 0)
			config_fail(p,
				    "[host] halt_poll_accounting: \"%s\" is not auto, debugfs, qmp "
				    "or off",
				    value);
	} else if (!strcmp(key, "halt_poll_qmp_wait_ms")) {
		if (config_long(p, "host", key, value, 1, 1000, &v))
			c->halt_poll_qmp_wait_ms = (int)v;
	} else if (!strcmp(key, "log_level")) {
		if (!strcmp(value, "error"))
			c->log_level = VS_LOG_ERROR;
		else if (!strcmp(value, "warn"))
			c->log_level = VS_LOG_WARN;
		else if (!strcmp(value, "info"))
			c->log_level = VS_LOG_INFO;
		else if (!strcmp(value, "debug"))
			c->log_level = VS_LOG_DEBUG;
		else
			config_fail(p, "[host] log_level: \"%s\" is not error, warn, info or debug",
				    value);
	} else {
		config_fail(
			p,
			"[host] %s: unknown key (known: cores reserved housekeeping nic nic_netns "
			"mode policy period_ms placement control_socket control_group state_dir "
			"lock_file "
			"metrics_listen metrics_textfile on_exit rt_priority cgroup_parent "
			"libvirt_uri coalesce_rx_usecs halt_poll_accounting halt_poll_qmp_wait_ms "
			"log_level)",
			key);
	}
}

static void config_threshold(struct config_parse *p, const char *key, const char *value)
{
	struct vs_params *pr = &p->c->params;
	long v;

	if (!p->line_threshold)
		p->line_threshold = p->lineno;
	if (!strcmp(key, "vcpu"))
		config_double(p, "threshold", key, value, 0.01, 1, &pr->th_vcpu_init);
	else if (!strcmp(key, "nq"))
		config_double(p, "threshold", key, value, 0.01, 1, &pr->th_nq_init);
	else if (!strcmp(key, "explore"))
		config_bool(p, "threshold", key, value, &pr->explore);
	else if (!strcmp(key, "window")) {
		if (config_long(p, "threshold", key, value, 1, 1000000, &v))
			pr->window = (int)v;
	} else if (!strcmp(key, "allow_violation"))
		config_double(p, "threshold", key, value, 0, 1, &pr->allow_violation);
	else if (!strcmp(key, "reward"))
		config_double(p, "threshold", key, value, 1, 10, &pr->reward);
	else if (!strcmp(key, "weight"))
		config_double(p, "threshold", key, value, 0.001, 1, &pr->weight);
	else if (!strcmp(key, "margin"))
		config_double(p, "threshold", key, value, 1, 10, &pr->margin);
	else if (!strcmp(key, "th_min"))
		config_double(p, "threshold", key, value, 0.01, 1, &pr->th_min);
	else if (!strcmp(key, "th_max"))
		config_double(p, "threshold", key, value, 0.01, 1, &pr->th_max);
	else if (!strcmp(key, "freeze_after")) {
		if (config_long(p, "threshold", key, value, 0, 1000000, &v))
			pr->freeze_after = (int)v;
	} else
		config_fail(p,
			    "[threshold] %s: unknown key (known: vcpu nq explore window "
			    "allow_violation reward weight margin th_min th_max freeze_after)",
			    key);
}

/* `workload "NAME"` -> NAME; false when the section is not a workload. */
static bool config_wl_name(const char *section, char *name, size_t len, bool *bad)
{
	const char *s = section + 8;
	size_t n;

	*bad = false;
	if (strncmp(section, "workload", 8) != 0 || (*s != ' ' && *s != '\t'))
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"') {
		const char *end = strchr(s + 1, '"');
		if (!end || end[1] != '\0') {
			*bad = true;
			return true;
		}
		n = (size_t)(end - s - 1);
		s++;
	} else {
		n = strlen(s);
	}
	if (n == 0 || n >= len) {
		*bad = true;
		return true;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			*bad = true;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		*bad = true;
	return true;
}

static struct vs_wl_spec *config_wl_get(struct config_parse *p, const char *name)
{
	struct vsd_config *c = p->c;

	if (p->cur_wl >= 0 && strcmp(c->wl[p->cur_wl].name, name) == 0)
		return &c->wl[p->cur_wl];
	for (int i = 0; i < c->n_wl; i++)
		if (strcmp(c->wl[i].name, name) == 0) {
			/* inih reports keys section by section; coming back means a
			 * second section of the same name */
			config_fail(p, "[workload \"%s\"]: defined twice (first at line %d)", name,
				    c->wl_line[i]);
			return NULL;
		}
	if (c->n_wl == p->cap_wl) {
		int nc = p->cap_wl ? p->cap_wl * 2 : 8;
		struct vs_wl_spec *nw = realloc(c->wl, sizeof(*nw) * (size_t)nc);
		int *nl = nw ? realloc(c->wl_line, sizeof(int) * (size_t)nc) : NULL;
		int *ns = nl ? realloc(p->wl_src_line, sizeof(int) * (size_t)nc) : NULL;
		int *na = ns ? realloc(p->wl_agent_line, sizeof(int) * (size_t)nc) : NULL;
		int *nm = na ? realloc(p->wl_memnet_line, sizeof(int) * (size_t)nc) : NULL;
		char(*mp)[PATH_MAX / 4] =
			nm ? realloc(c->wl_memnet, sizeof(*c->wl_memnet) * (size_t)nc) : NULL;
		struct vsd_vf_wl *nv = mp ? realloc(c->vfwl, sizeof(*nv) * (size_t)nc) : NULL;
		if (nw)
			c->wl = nw;
		if (nl)
			c->wl_line = nl;
		if (ns)
			p->wl_src_line = ns;
		if (na)
			p->wl_agent_line = na;
		if (nm)
			p->wl_memnet_line = nm;
		if (mp)
			c->wl_memnet = mp;
		if (nv)
			c->vfwl = nv;
		if (!nw || !nl || !ns || !na || !nm || !mp || !nv) {
			config_fail(p, "out of memory");
			return NULL;
		}
		p->cap_wl = nc;
	}
	p->cur_wl = c->n_wl++;
	struct vs_wl_spec *w = &c->wl[p->cur_wl];
	memset(w, 0, sizeof(*w));
	str_copy(w->name, name, sizeof(w->name));
	w->lc = true;
	w->guest_nic[0] = '\0'; /* the agent's first multi-queue NIC (its hello) */
	c->wl_line[p->cur_wl] = p->lineno;
	p->wl_src_line[p->cur_wl] = 0;
	p->wl_agent_line[p->cur_wl] = 0;
	p->wl_memnet_line[p->cur_wl] = 0;
	c->wl_memnet[p->cur_wl][0] = '\0';
	memset(&c->vfwl[p->cur_wl], 0, sizeof(c->vfwl[p->cur_wl]));
	return w;
}

/* A workload's vf keys (FlexVF). */
static bool config_workload_vf(struct config_parse *p, const char *sect, const char *key,
			       const char *value)
{
	struct vsd_vf_wl *v = &p->c->vfwl[p->cur_wl];
	char mac[18];

	if (strncmp(key, "vf", 2) != 0)
		return false;
	if (!v->line)
		v->line = p->lineno;
	if (!strcmp(key, "vf")) {
		if (!strcmp(value, "on"))
			v->on = true;
		else if (!strcmp(value, "off"))
			v->on = false;
		else
			config_fail(p, "[%s] vf: \"%s\" is not on or off", sect, value);
	} else if (!strcmp(key, "vf_qmp")) {
		config_abs_path(p, sect, key, value, v->qmp, sizeof(v->qmp));
	} else if (!strcmp(key, "vf_standby") || !strcmp(key, "vf_bus") ||
		   !strcmp(key, "vf_netdev")) {
		char *dst = key[3] == 's' ? v->standby : key[3] == 'b' ? v->bus : v->netdev;
		size_t len = key[3] == 's' ? sizeof(v->standby) : sizeof(v->bus);
		bool ok = value[0] != '\0';
		for (const char *c = value; *c; c++)
			ok &= isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.';
		if (!ok)
			config_fail(p, "[%s] %s: \"%s\" is not a QEMU id (letters, digits, - _ .)",
				    sect, key, value);
		else
			config_str(p, sect, key, value, dst, len);
	} else if (!strcmp(key, "vf_mac")) {
		if (vfpool_parse_mac(value, mac) < 0)
			config_fail(p, "[%s] vf_mac: \"%s\" is not a MAC (aa:bb:cc:dd:ee:ff)", sect,
				    value);
		else
			str_copy(v->mac, mac, sizeof(v->mac));
	} else if (!strcmp(key, "vf_tap")) {
		config_name(p, sect, key, value, v->tap, sizeof(v->tap));
	} else {
		config_fail(p,
			    "[%s] %s: unknown key (the VF keys: vf vf_qmp vf_standby vf_mac vf_bus "
			    "vf_netdev vf_tap)",
			    sect, key);
	}
	return true;
}

/* [vf]: the pool and the strategy (FlexVF, SPEC §7.2). */
static void config_vf(struct config_parse *p, const char *key, const char *value)
{
	struct vsd_vf_config *f = &p->c->vf;
	long v;

	if (!f->line)
		f->line = p->lineno;
	f->on = true;
	if (!strcmp(key, "pf")) {
		config_name(p, "vf", key, value, f->pf, sizeof(f->pf));
	} else if (!strcmp(key, "standin")) {
		bool ok = value[0] != '\0';
		for (const char *c = value; *c; c++)
			ok &= isalnum((unsigned char)*c) || *c == '-' || *c == '_';
		if (!ok)
			config_fail(p, "[vf] standin: \"%s\" is not a QEMU NIC model (e1000e)",
				    value);
		else
			config_str(p, "vf", key, value, f->standin, sizeof(f->standin));
	} else if (!strcmp(key, "vfs")) {
		if (config_long(p, "vf", key, value, 1, VFPOOL_MAX, &v))
			f->standin_vfs = (int)v;
	} else if (!strcmp(key, "strategy")) {
		f->strategy = vf_policy_lookup(value);
		if (!f->strategy)
			config_fail(p, "[vf] strategy: \"%s\" is not fair, activity or random",
				    value);
	} else if (!strcmp(key, "interval_s")) {
		config_double(p, "vf", key, value, 0.1, 86400, &f->interval_s);
	} else if (!strcmp(key, "hysteresis")) {
		config_double(p, "vf", key, value, 0, 100, &f->hysteresis);
	} else if (!strcmp(key, "min_hold")) {
		if (config_long(p, "vf", key, value, 1, 1000000, &v))
			f->min_hold = (int)v;
	} else if (!strcmp(key, "min_pps")) {
		config_double(p, "vf", key, value, 0, 1e9, &f->min_pps);
	} else if (!strcmp(key, "vf_on_exit")) {
		if (!strcmp(value, "unplug") || !strcmp(value, "leave"))
			f->on_exit_unplug = value[0] == 'u';
		else
			config_fail(p, "[vf] vf_on_exit: \"%s\" is not unplug or leave", value);
	} else if (!strcmp(key, "plug_timeout_ms")) {
		if (config_long(p, "vf", key, value, 100, 600000, &v))
			f->plug_timeout_ms = (int)v;
	} else if (!strcmp(key, "announce")) {
		if (!strcmp(value, "on") || !strcmp(value, "off"))
			f->announce = value[1] == 'n';
		else
			config_fail(p, "[vf] announce: \"%s\" is not on or off", value);
	} else {
		config_fail(p,
			    "[vf] %s: unknown key (known: pf standin vfs strategy interval_s "
			    "hysteresis min_hold min_pps vf_on_exit plug_timeout_ms announce)",
			    key);
	}
}

static void config_workload(struct config_parse *p, const char *name, const char *key,
			    const char *value)
{
	struct vs_wl_spec *w = config_wl_get(p, name);
	char sect[96], err[256];
	int *src_line;
	long v;

	if (!w)
		return;
	snprintf(sect, sizeof(sect), "workload \"%s\"", name);
	src_line = &p->wl_src_line[p->cur_wl];
	if (!strcmp(key, "pid") || !strcmp(key, "pidfile") || !strcmp(key, "qemu_pidfile") ||
	    !strcmp(key, "cgroup") || !strcmp(key, "libvirt")) {
		if (*src_line) {
			config_fail(p,
				    "[%s] %s: a workload has exactly one of pid, pidfile, "
				    "qemu_pidfile, "
				    "cgroup, libvirt (another was given at line %d)",
				    sect, key, *src_line);
			return;
		}
		*src_line = p->lineno;
		if (!strcmp(key, "pid")) {
			w->source = VS_SRC_PID;
			if (config_long(p, sect, key, value, 1, INT32_MAX, &v))
				w->pid = (int)v;
		} else if (!strcmp(key, "pidfile")) {
			w->source = VS_SRC_PIDFILE;
			config_abs_path(p, sect, key, value, w->path, sizeof(w->path));
		} else if (!strcmp(key, "qemu_pidfile")) {
			w->source = VS_SRC_QEMU_PIDFILE;
			config_abs_path(p, sect, key, value, w->path, sizeof(w->path));
		} else if (!strcmp(key, "cgroup")) {
			w->source = VS_SRC_CGROUP;
			if (strstr(value, ".."))
				config_fail(p, "[%s] cgroup: \"%s\" must not contain \"..\"", sect,
					    value);
			else
				config_abs_path(p, sect, key, value, w->path, sizeof(w->path));
		} else {
			w->source = VS_SRC_LIBVIRT;
			if (config_name(p, sect, key, value, w->domain, sizeof(w->domain)))
				w->domain_pattern = strpbrk(value, "*?[") != NULL;
		}
	} else if (!strcmp(key, "role")) {
		if (!strcmp(value, "lc"))
			w->lc = true;
		else if (!strcmp(value, "be"))
			w->lc = false;
		else
			config_fail(p, "[%s] role: \"%s\" is not lc or be", sect, value);
	} else if (!strcmp(key, "slo_p95_us")) {
		config_double(p, sect, key, value, 1, 1e9, &w->slo_p95_us);
	} else if (!strcmp(key, "qmp")) {
		config_abs_path(p, sect, key, value, w->qmp, sizeof(w->qmp));
	} else if (!strcmp(key, "tap")) {
		config_name(p, sect, key, value, w->tap, sizeof(w->tap));
	} else if (!strcmp(key, "nic")) {
		config_name(p, sect, key, value, w->nic, sizeof(w->nic));
	} else if (!strcmp(key, "nic_netns")) {
		config_netns(p, sect, key, value, w->nic_netns, sizeof(w->nic_netns));
	} else if (!strcmp(key, "guest_nic")) {
		config_name(p, sect, key, value, w->guest_nic, sizeof(w->guest_nic));
	} else if (config_workload_vf(p, sect, key, value)) {
		/* FlexVF's keys */
	} else if (!strcmp(key, "agent")) {
		struct proto_addr pa;
		/* both parsers: what is shown (platform) and what connects (proto) */
		if (vs_agent_parse(value, &w->agent, err, sizeof(err)) < 0 ||
		    proto_addr_parse(value, &pa, err, sizeof(err)) < 0)
			config_fail(p, "[%s] agent: %s", sect, err);
		else
			p->wl_agent_line[p->cur_wl] = p->lineno;
	} else if (!strcmp(key, "memnet")) {
		if (p->wl_memnet_line[p->cur_wl])
			config_fail(p, "[%s] memnet: set twice (first at line %d)", sect,
				    p->wl_memnet_line[p->cur_wl]);
		else if (config_abs_path(p, sect, key, value, p->c->wl_memnet[p->cur_wl],
					 sizeof(p->c->wl_memnet[0])))
			p->wl_memnet_line[p->cur_wl] = p->lineno;
	} else {
		config_fail(p,
			    "[%s] %s: unknown key (known: role slo_p95_us pid pidfile qemu_pidfile "
			    "cgroup libvirt qmp tap nic nic_netns guest_nic agent memnet vf vf_*)",
			    sect, key);
	}
}

/* Remember where key was given. */
static void config_keyline(struct config_parse *p, int wl, const char *key)
{
	struct vsd_config *c = p->c;
	struct vsd_keyline *k;

	if (c->n_keylines == p->cap_keylines) {
		int nc = p->cap_keylines ? p->cap_keylines * 2 : 32;
		k = realloc(c->keylines, sizeof(*k) * (size_t)nc);
		if (!k) {
			config_fail(p, "out of memory");
			return;
		}
		c->keylines = k;
		p->cap_keylines = nc;
	}
	k = &c->keylines[c->n_keylines++];
	k->wl = wl;
	str_copy(k->key, key, sizeof(k->key));
	k->line = p->lineno;
}

/* [memnet]: the orchestrator of the workloads' MemNet regions. */
static void config_memnet(struct config_parse *p, const char *key, const char *value)
{
	struct vsd_config *c = p->c;
	double v;

	if (!p->line_memnet)
		p->line_memnet = p->lineno;
	if (!strcmp(key, "budget_mb")) {
		p->line_memnet_budget = p->lineno;
		if (config_double(p, "memnet", key, value, 1, 1048576.0 * 1024, &v))
			c->memnet_budget_bytes = (uint64_t)(v * 1048576.0);
	} else if (!strcmp(key, "slo_ms")) {
		p->line_memnet_slo = p->lineno;
		config_double(p, "memnet", key, value, 0.001, 1e9, &c->memnet_slo_ms);
	} else if (!strcmp(key, "interval_s")) {
		config_double(p, "memnet", key, value, 0.01, 86400, &c->memnet_interval_s);
	} else if (!strcmp(key, "min_mb")) {
		if (config_double(p, "memnet", key, value, 0, 1048576, &v))
			c->memnet_min_bytes = (uint64_t)(v * 1048576.0);
	} else {
		config_fail(p,
			    "[memnet] %s: unknown key (known: budget_mb slo_ms interval_s min_mb)",
			    key);
	}
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	char wl[VS_WORKLOAD_NAME_MAX];
	bool bad;

	if (!strcmp(section, "host")) {
		p->cur_wl = -1;
		config_keyline(p, -1, name);
		config_host(p, name, value);
	} else if (!strcmp(section, "threshold")) {
		p->cur_wl = -1;
		config_keyline(p, -2, name);
		config_threshold(p, name, value);
	} else if (!strcmp(section, "vf")) {
		p->cur_wl = -1;
		config_vf(p, name, value);
	} else if (!strcmp(section, "memnet")) {
		p->cur_wl = -1;
		config_memnet(p, name, value);
	} else if (config_wl_name(section, wl, sizeof(wl), &bad)) {
		if (bad)
			config_fail(p,
				    "[%s]: a workload name is 1-%d characters of A-Z a-z 0-9 - _ . "
				    "in quotes: [workload \"web\"]",
				    section, VS_WORKLOAD_NAME_MAX - 1);
		else {
			config_workload(p, wl, name, value);
			if (p->cur_wl >= 0)
				config_keyline(p, p->cur_wl, name);
		}
	} else if (!section[0]) {
		config_fail(p, "%s: key outside any section (start with [host])", name);
	} else {
		config_fail(p,
			    "[%s]: unknown section (expected [host], [threshold], [memnet], [vf], "
			    "[workload \"NAME\"])",
			    section);
	}
	return 1; /* errors are collected here, with better messages than inih's */
}

static void config_defaults(struct vsd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->period_ms = 100;
	c->placement = VS_PLACE_AUTO;
	str_copy(c->policy, "vspace-e", sizeof(c->policy));
	str_copy(c->control_socket, CTLPATH_DEFAULT, sizeof(c->control_socket));
	str_copy(c->state_dir, "/var/lib/vspace", sizeof(c->state_dir));
	str_copy(c->lock_file, HOSTLOCK_DEFAULT, sizeof(c->lock_file));
	str_copy(c->metrics_listen, "127.0.0.1:9465", sizeof(c->metrics_listen));
	c->on_exit_restore = true;
	c->rt_priority = 1;
	str_copy(c->cgroup_parent, "vspace", sizeof(c->cgroup_parent));
	str_copy(c->libvirt_uri, "qemu:///system", sizeof(c->libvirt_uri));
	c->coalesce_rx_usecs = -1;
	c->halt_poll = VS_HALTPOLL_AUTO;
	c->halt_poll_source = VS_HPSRC_AUTO;
	c->halt_poll_qmp_wait_ms = VS_HP_QMP_WAIT_MS;
	c->log_level = VS_LOG_INFO;
	vs_params_defaults(&c->params);
	c->memnet_interval_s = 1;
	c->memnet_min_bytes = 1u << 20;
	c->vf.strategy = &vf_policy_fair;
	c->vf.interval_s = VFM_INTERVAL_S;
	c->vf.min_hold = 1;
	c->vf.plug_timeout_ms = VFM_PLUG_TIMEOUT_MS;
	c->vf.announce = true;
}

/* [vf] against the workloads' vf keys. */
static void config_check_vf(struct config_parse *p)
{
	struct vsd_config *c = p->c;
	const struct vsd_vf_config *f = &c->vf;

	if (f->on) {
		p->lineno = f->line;
		if (!!f->pf[0] == !!f->standin[0]) {
			config_fail(p,
				    "[vf]: give pf= (an SR-IOV PF) or standin= (a QEMU NIC model "
				    "standing in for VFs, with vfs=), not %s",
				    f->pf[0] ? "both" : "neither");
			return;
		}
		if (f->standin[0] && !f->standin_vfs) {
			config_fail(p, "[vf] standin: needs vfs= (how many stand-in VFs)");
			return;
		}
		if (f->pf[0] && f->standin_vfs) {
			config_fail(p,
				    "[vf] vfs: the PF's sysfs says how many VFs it has (vfs= goes "
				    "with standin=)");
			return;
		}
	}
	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_wl_spec *w = &c->wl[i];
		const struct vsd_vf_wl *v = &c->vfwl[i];
		if (!v->line)
			continue;
		p->lineno = v->line;
		if (!v->on)
			continue;
		if (!f->on) {
			config_fail(p,
				    "[workload \"%s\"] vf: on without a [vf] section (pf= or "
				    "standin=, strategy=)",
				    w->name);
			return;
		}
		if (!v->mac[0]) {
			config_fail(p,
				    "[workload \"%s\"] vf: on needs vf_mac= (the MAC of the VM's "
				    "virtio-net standby, which the VF takes)",
				    w->name);
			return;
		}
		if (w->source == VS_SRC_LIBVIRT) {
			if (f->standin[0]) {
				config_fail(p,
					    "[workload \"%s\"] vf: a libvirt domain gets real VFs "
					    "only ([vf] pf=), not stand-ins",
					    w->name);
				return;
			}
			continue;
		}
		if (!v->qmp[0]) {
			config_fail(p,
				    "[workload \"%s\"] vf: on needs vf_qmp= (a QMP socket of the "
				    "VM's for hot-plug) or libvirt=",
				    w->name);
			return;
		}
		if (w->qmp[0] && !strcmp(w->qmp, v->qmp)) {
			config_fail(p,
				    "[workload \"%s\"] vf_qmp: %s is also qmp= (QEMU serves one "
				    "client per QMP socket: give QEMU a second -qmp for vf_qmp)",
				    w->name, v->qmp);
			return;
		}
		if (f->standin[0] && !v->netdev[0]) {
			config_fail(p,
				    "[workload \"%s\"] vf: a stand-in VF needs vf_netdev= (the "
				    "QEMU netdev behind it)",
				    w->name);
			return;
		}
	}
}

/* Checks across keys, after the whole file is read. */
static void config_check(struct config_parse *p)
{
	struct vsd_config *c = p->c;
	struct vs_policy pol;
	struct vs_cpuset tmp;
	char a[256], err[256];
	int host_line = p->line_host ? p->line_host : 1;
	int T;

	if (p->err_line)
		return;
	if (!p->line_cores) {
		p->lineno = host_line;
		config_fail(p, "[host] cores: missing (the cores vspace manages, e.g. cores=0-19)");
		return;
	}
	cpuset_andnot(&tmp, &c->reserved, &c->cores);
	if (!cpuset_empty(&tmp)) {
		cpuset_format_list(&tmp, a, sizeof(a));
		p->lineno = p->line_reserved;
		config_fail(p, "[host] reserved: cores %s are not in cores=", a);
		return;
	}
	cpuset_and(&tmp, &c->housekeeping, &c->cores);
	if (!cpuset_empty(&tmp)) {
		cpuset_format_list(&tmp, a, sizeof(a));
		p->lineno = p->line_housekeeping;
		config_fail(p,
			    "[host] housekeeping: overlapping core sets: cores %s are both managed "
			    "(cores=, line %d) and housekeeping",
			    a, p->line_cores);
		return;
	}
	cpuset_andnot(&c->managed, &c->cores, &c->reserved);
	T = cpuset_count(&c->managed);
	if (T < 2) {
		p->lineno = p->line_reserved ? p->line_reserved : p->line_cores;
		config_fail(p, "[host] cores: %d core%s left to manage; vspace needs at least 2", T,
			    T == 1 ? "" : "s");
		return;
	}
	if (p->line_mode && p->line_policy) {
		p->lineno = p->line_policy;
		config_fail(p, "[host] policy: give mode= (line %d) or policy=, not both",
			    p->line_mode);
		return;
	}
	if (policy_lookup(c->policy, T, &pol, err, sizeof(err)) < 0) {
		p->lineno = p->line_policy ? p->line_policy : p->line_mode;
		config_fail(p, "[host] %s: %s", p->line_policy ? "policy" : "mode", err);
		return;
	}
	if (c->nic_netns[0] && !c->nic[0]) {
		p->lineno = p->line_nic_netns;
		config_fail(p, "[host] nic_netns: given without nic=");
		return;
	}
	if (vs_params_check(&c->params, err, sizeof(err)) < 0) {
		p->lineno = p->line_threshold ? p->line_threshold : p->line_last;
		config_fail(p, "[threshold]: %s", err);
		return;
	}
	if (c->n_wl == 0) {
		p->lineno = p->line_last;
		config_fail(p,
			    "missing workload: no [workload \"NAME\"] section (vspaced manages at "
			    "least one workload)");
		return;
	}
	c->n_lc = 0;
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_wl_spec *w = &c->wl[i];
		p->lineno = c->wl_line[i];
		if (!p->wl_src_line[i]) {
			config_fail(p,
				    "[workload \"%s\"]: missing workload source: give one of pid=, "
				    "pidfile=, qemu_pidfile=, cgroup=, libvirt=",
				    w->name);
			return;
		}
		if (!w->lc && p->wl_agent_line[i]) {
			p->lineno = p->wl_agent_line[i];
			config_fail(p,
				    "[workload \"%s\"] agent: only lc workloads have a guest agent "
				    "(role=be)",
				    w->name);
			return;
		}
		if (!w->lc && w->slo_p95_us > 0) {
			config_fail(p,
				    "[workload \"%s\"] slo_p95_us: only lc workloads have an SLO",
				    w->name);
			return;
		}
		if (w->nic_netns[0] && !w->nic[0]) {
			config_fail(p, "[workload \"%s\"] nic_netns: given without nic=", w->name);
			return;
		}
		if (w->domain_pattern) {
			/* one section stands for many VMs: nothing that names one of them */
			const char *one = p->wl_agent_line[i] ? "agent"
					  : w->qmp[0]	      ? "qmp"
					  : w->tap[0]	      ? "tap"
					  : w->nic[0]	      ? "nic"
					  : w->guest_nic[0]   ? "guest_nic"
							      : NULL;
			if (one) {
				config_fail(p,
					    "[workload \"%s\"] %s: not with a libvirt= pattern "
					    "(\"%s\" matches many domains; give the domain that "
					    "has this %s a [workload] section of its own)",
					    w->name, one, w->domain, one);
				return;
			}
		}
		if (w->nic[0] && c->nic[0] && !strcmp(w->nic, c->nic) &&
		    !strcmp(w->nic_netns, c->nic_netns)) {
			config_fail(p,
				    "[workload \"%s\"] nic: %s is already the host's nic=", w->name,
				    w->nic);
			return;
		}
		if (w->lc)
			c->n_lc++;
	}
	/* MemNet: regions need the orchestrator's budget, which needs regions */
	c->n_memnet = 0;
	for (int i = 0; i < c->n_wl; i++) {
		if (!p->wl_memnet_line[i])
			continue;
		c->n_memnet++;
		p->lineno = p->wl_memnet_line[i];
		for (int j = 0; j < i; j++)
			if (p->wl_memnet_line[j] && !strcmp(c->wl_memnet[i], c->wl_memnet[j])) {
				config_fail(p,
					    "[workload \"%s\"] memnet: %s is already the region of "
					    "workload \"%s\" (line %d)",
					    c->wl[i].name, c->wl_memnet[i], c->wl[j].name,
					    p->wl_memnet_line[j]);
				return;
			}
		if (!c->memnet_budget_bytes) {
			config_fail(p,
				    "[workload \"%s\"] memnet: a region needs the orchestrator: "
				    "[memnet] budget_mb= and slo_ms=",
				    c->wl[i].name);
			return;
		}
	}
	if (p->line_memnet && (!c->memnet_budget_bytes || c->memnet_slo_ms <= 0)) {
		p->lineno = p->line_memnet;
		config_fail(p, "[memnet]: %s",
			    !c->memnet_budget_bytes ? "budget_mb= is missing"
						    : "slo_ms= is missing (the job response-time "
						      "target)");
		return;
	}
	if (c->memnet_budget_bytes && c->n_memnet == 0) {
		p->lineno = p->line_memnet_budget;
		config_fail(p, "[memnet] budget_mb: no workload has memnet=PATH (its region)");
		return;
	}
	if (2 * c->n_lc > T) {
		p->lineno = p->line_cores;
		config_fail(p, "[host] cores: %d LC workloads need at least %d cores, %d managed",
			    c->n_lc, 2 * c->n_lc, T);
		return;
	}
	if (c->n_lc == 0) {
		p->lineno = p->line_last;
		config_fail(p, "missing workload: every workload is role=be; vspaced sizes LC "
			       "workloads and gives BE ones what is left");
		return;
	}
}

static int config_run(struct vsd_config *c, struct config_parse *p, const char *name, char *err,
		      size_t errlen)
{
	int rc;

	ini_allow_multiline = false; /* an indented line is a key of its own */
	rc = ini_parse_stream(config_reader, p, config_handler, p);
	if (p->read_errno && !p->err_line) {
		snprintf(err, errlen, "%s: read error after line %d: %s", name, p->lineno,
			 strerror(p->read_errno));
		free(p->wl_src_line);
		free(p->wl_agent_line);
		config_free(c);
		return -1;
	}
	if (rc > 0 && !p->err_line) {
		p->lineno = rc;
		config_fail(p, "syntax error (expected [section], key=value, or a ; or # comment)");
	}
	config_check(p);
	if (!p->err_line)
		config_check_vf(p);
	free(p->wl_src_line);
	free(p->wl_agent_line);
	free(p->wl_memnet_line);
	if (p->err_line) {
		snprintf(err, errlen, "%s:%d: %s", name, p->err_line, p->err);
		config_free(c);
		return -1;
	}
	return 0;
}

int config_load(struct vsd_config *c, const char *path, char *err, size_t errlen)
{
	struct config_parse p = { .c = c, .cur_wl = -1 };
	int rc;

	config_defaults(c);
	str_copy(c->path, path, sizeof(c->path));
	struct stat st;

	p.f = fopen(path, "r");
	if (!p.f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(p.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a configuration file", path);
		fclose(p.f);
		return -1;
	}
	rc = config_run(c, &p, path, err, errlen);
	free(p.buf);
	fclose(p.f);
	return rc;
}

int config_load_string(struct vsd_config *c, const char *text, const char *name, char *err,
		       size_t errlen)
{
	struct config_parse p = { .c = c, .cur_wl = -1, .text = text };

	config_defaults(c);
	str_copy(c->path, name, sizeof(c->path));
	return config_run(c, &p, name, err, errlen);
}

void config_free(struct vsd_config *c)
{
	free(c->wl);
	free(c->wl_line);
	free(c->keylines);
	free(c->wl_memnet);
	free(c->vfwl);
	c->wl = NULL;
	c->wl_line = NULL;
	c->keylines = NULL;
	c->wl_memnet = NULL;
	c->vfwl = NULL;
	c->n_wl = 0;
	c->n_keylines = 0;
}

int config_key_line(const struct vsd_config *c, int wl, const char *key)
{
	int first = 0;

	for (int i = 0; i < c->n_keylines; i++) {
		const struct vsd_keyline *k = &c->keylines[i];
		if (k->wl != wl)
			continue;
		if (!strcmp(k->key, key))
			return k->line;
		if (!first)
			first = k->line;
	}
	if (wl >= 0 && wl < c->n_wl && c->wl_line)
		return c->wl_line[wl];
	return first ? first : 1;
}

void config_state_path(const struct vsd_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vspaced.state", c->state_dir);
}

void config_linux(const struct vsd_config *c, const char *sysroot, bool dry_run,
		  struct vs_linux_config *out)
{
	memset(out, 0, sizeof(*out));
	out->sysroot = sysroot;
	out->managed = c->managed;
	str_copy(out->nic, c->nic, sizeof(out->nic));
	str_copy(out->nic_netns, c->nic_netns, sizeof(out->nic_netns));
	out->placement = c->placement;
	str_copy(out->cgroup_parent, c->cgroup_parent, sizeof(out->cgroup_parent));
	if (!dry_run)
		config_state_path(c, out->state_path, sizeof(out->state_path));
	str_copy(out->libvirt_uri, c->libvirt_uri, sizeof(out->libvirt_uri));
	out->coalesce_rx_usecs = c->coalesce_rx_usecs;
	out->halt_poll = c->halt_poll;
	out->halt_poll_source = c->halt_poll_source;
	out->qmp_wait_ms = c->halt_poll_qmp_wait_ms;
	out->dry_run = dry_run;
	out->wl = c->wl;
	out->n_wl = c->n_wl;
}
