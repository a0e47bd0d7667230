/* registry.c - choose a policy by name ("vspace-e", "static-iso:16:4"). */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"

static const struct vs_policy_ops *const registry_policies[] = {
	&policy_vspace_p,   &policy_vspace_e, &policy_vspace_r, &policy_static_ts,
	&policy_static_iso, &policy_corenap,  &policy_demeter,	NULL,
};

const struct vs_policy_ops *const *policy_all(void)
{
	return registry_policies;
}

int policy_lookup(const char *spec, int n_cores, struct vs_policy *out, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);

	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof(out->spec)) {
		snprintf(err, errlen, "policy name \"%.40s...\" is too long", spec);
		return -1;
	}
	for (int i = 0; registry_policies[i]; i++) {
		const struct vs_policy_ops *ops = registry_policies[i];

		if (strlen(ops->name) != name_len || strncmp(ops->name, spec, name_len) != 0)
			continue;
		out->ops = ops;
		str_copy(out->spec, spec, sizeof(out->spec));
		if (!colon && ops->args_usage) {
			snprintf(err, errlen, "policy %s needs arguments: %s:%s", ops->name,
				 ops->name, ops->args_usage);
			return -1;
		}
		return ops->init(out, colon ? colon + 1 : NULL, n_cores, err, errlen);
	}
	snprintf(err, errlen,
		 "unknown policy \"%s\" (known: vspace-p, vspace-e, vspace-r, static-ts:NV:NQ, "
		 "static-iso:NV:NQ, corenap, demeter:NQ)",
		 spec);
	return -1;
}
