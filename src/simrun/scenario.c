/* scenario.c - the simulator's scenarios: sweep, dynamic, energy, colocate; runs in parallel processes. */
#include "simrun/scenario.h"

#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "sim/costs.h"

const double sim_dynamic_kqps[] = { 50, 100, 150, 200, 250, 200, 150, 100, 50 };
const int sim_dynamic_steps = (int)(sizeof(sim_dynamic_kqps) / sizeof(sim_dynamic_kqps[0]));

/* Seconds per point of sweep/energy, per step of dynamic/colocate, by default. */
#define SCEN_POINT_S  3.0
#define SCEN_PHASE_S  2.0
#define SCEN_WARMUP_S 1.0
#define SCEN_WINDOW   1000
#define SCEN_BE_VCPUS 20

/* "KVM halt polling up to 200 us, subtracted from U_v (accounting auto)" and
 * the like: how a run treats halt polling, for the tables' headers. */
static void scen_halt_poll_text(const struct sim_run_config *c, char *buf, size_t len)
{
	if (c->halt_poll_us <= 0)
		snprintf(buf, len, "KVM halt polling off");
	else
		snprintf(buf, len, "KVM halt polling up to %.0f us, %s (--halt-poll-accounting %s)",
			 c->halt_poll_us,
			 c->halt_poll_accounting == VS_HALTPOLL_AUTO ? "subtracted from U_v"
								     : "counted in U_v",
			 haltpoll_mode_name(c->halt_poll_accounting));
}

static int scen_run_one(const struct sim_run_config *cfg, const char *csv_path,
			struct sim_run_result *res, char *err, size_t errlen)
{
	struct sim_run_config c = *cfg;
	FILE *f = NULL;
	int rc;

	if (csv_path) {
		f = fopen(csv_path, "w");
		if (!f) {
			snprintf(err, errlen, "cannot write %s: %s", csv_path, strerror(errno));
			return -1;
		}
	}
	c.csv = f;
	rc = sim_run(&c, res, err, errlen);
	if (f && fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "writing %s: %s", csv_path, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int scen_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int scen_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* What a child sends back through its pipe: a status, an error and the job's
 * result (out_size bytes), which starts at an offset aligned for any type (the
 * job writes its result there in place). */
struct scen_msg_head {
	int ok;
	char err[256];
};
#define SCEN_MSG_BODY                                                                              \
	((sizeof(struct scen_msg_head) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *      \
	 _Alignof(max_align_t))

int sim_scen_pool(int n, int jobs, size_t out_size, sim_scen_job_fn fn, const void *arg, void *outs,
		  const char *const *names, char *err, size_t errlen)
{
	pid_t *pid;
	int *fd, next = 0, running = 0, failed = -1;
	char *msg;
	size_t msg_len = SCEN_MSG_BODY + out_size;

	if (jobs <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (int)c : 1;
	}
	if (jobs == 1 || n == 1) {
		for (int i = 0; i < n; i++) {
			char e[256];
			if (fn(i, arg, (char *)outs + (size_t)i * out_size, e, sizeof(e)) < 0) {
				snprintf(err, errlen, "%s: %s", names[i], e);
				return -1;
			}
		}
		return 0;
	}
	pid = calloc((size_t)n, sizeof(*pid));
	fd = calloc((size_t)n, sizeof(*fd));
	msg = malloc(msg_len);
	if (!pid || !fd || !msg) {
		free(pid);
		free(fd);
		free(msg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	while (next < n || running > 0) {
		while (next < n && running < jobs && failed < 0) {
			int p[2];

			if (pipe(p) < 0) {
				snprintf(err, errlen, "pipe: %s", strerror(errno));
				failed = next;
				break;
			}
			pid[next] = fork();
			if (pid[next] < 0) {
				snprintf(err, errlen, "fork: %s", strerror(errno));
				close(p[0]);
				close(p[1]);
				failed = next;
				break;
			}
			if (pid[next] == 0) {
				struct scen_msg_head *h = (struct scen_msg_head *)msg;
				close(p[0]);
				memset(msg, 0, msg_len);
				h->ok = fn(next, arg, msg + SCEN_MSG_BODY, h->err,
					   sizeof(h->err)) == 0;
				_exit(scen_write_all(p[1], msg, msg_len) == 0 ? 0 : 1);
			}
			close(p[1]);
			fd[next] = p[0];
			next++;
			running++;
		}
		if (running == 0)
			break;
		/* the message (< pipe capacity) is written before the child exits */
		int status;
		pid_t done = waitpid(-1, &status, 0);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			failed = failed < 0 ? 0 : failed;
			break;
		}
		for (int i = 0; i < next; i++) {
			struct scen_msg_head *h = (struct scen_msg_head *)msg;

			if (pid[i] != done)
				continue;
			running--;
			pid[i] = 0;
			bool got = scen_read_all(fd[i], msg, msg_len) == 0;

			if (got && h->ok) {
				memcpy((char *)outs + (size_t)i * out_size, msg + SCEN_MSG_BODY,
				       out_size);
			} else if (failed < 0) {
				if (got)
					snprintf(err, errlen, "%s: %s", names[i], h->err);
				else
					snprintf(err, errlen,
						 "%s: the run's process died (status %d)", names[i],
						 status);
				failed = i;
			}
			close(fd[i]);
		}
	}
	/* after a failure: stop the others we started */
	for (int i = 0; i < next; i++) {
		if (pid[i] > 0) {
			kill(pid[i], SIGTERM);
			waitpid(pid[i], NULL, 0);
			close(fd[i]);
		}
	}
	free(pid);
	free(fd);
	free(msg);
	return failed < 0 ? 0 : -1;
}

/* sim_scen_parallel's jobs: configuration i with its CSV path. */
struct scen_runs {
	const struct sim_run_config *cfgs;
	const char *const *csv_paths;
};

static int scen_run_job(int i, const void *arg, void *out, char *err, size_t errlen)
{
	const struct scen_runs *r = arg;

	return scen_run_one(&r->cfgs[i], r->csv_paths ? r->csv_paths[i] : NULL, out, err, errlen);
}

int sim_scen_parallel(const struct sim_run_config *cfgs, const char *const *csv_paths, int n,
		      int jobs, struct sim_run_result *res, char *err, size_t errlen)
{
	struct scen_runs r = { .cfgs = cfgs, .csv_paths = csv_paths };
	const char **names = calloc((size_t)n, sizeof(*names));
	int rc;

	if (!names) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		names[i] = cfgs[i].policy;
	rc = sim_scen_pool(n, jobs, sizeof(*res), scen_run_job, &r, res, names, err, errlen);
	free(names);
	return rc;
}

/* ---- helpers --------------------------------------------------------------------- */

static int scen_check_policies(const struct sim_scen_opts *o, char pol[][64], int n,
			       const char *cmd)
{
	for (int i = 0; i < n; i++) {
		struct vs_policy p;
		enum sim_path path;
		int np, nvq;
		char err[256];

		if (sim_policy_resolve(pol[i], o->base.n_cores, o->base.n_vcpus, &path, &p, &np,
				       &nvq, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace sim %s: %s\n", cmd, err);
			return -1;
		}
	}
	return 0;
}

/* A file name from a policy name: ':' and '/' become '_'. */
static void scen_file_name(char *buf, size_t len, const char *dir, const char *kind,
			   const char *policy)
{
	char p[64];

	str_copy(p, policy, sizeof(p));
	for (char *c = p; *c; c++)
		if (*c == ':' || *c == '/')
			*c = '_';
	snprintf(buf, len, "%s/%s-%s.csv", dir, kind, p);
}

static int scen_mkdir(const char *dir)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "vspace sim: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void scen_print_us(FILE *f, int width, double us)
{
	if (isnan(us))
		fprintf(f, " %*s", width, "-");
	else if (us >= 100000)
		fprintf(f, " %*.0fms", width - 2, us / 1000);
	else
		fprintf(f, " %*.0f", width, us);
}

void sim_scen_print_run(FILE *f, const struct sim_run_config *cfg, const struct sim_run_result *r)
{
	fprintf(f, "policy %s, %s, %.0f QPS offered for %.1f s (seed %llu), SLO p95 <= %.0f us\n",
		cfg->policy, sim_workload_name(cfg->wl), cfg->phase[0].qps,
		cfg->phase[0].duration_s, (unsigned long long)cfg->seed, cfg->slo_us);
	if (r->periods == 0) {
		fprintf(f, "no period after the %.1f s warm-up: nothing measured\n", cfg->warmup_s);
		return;
	}
	fprintf(f,
		"latency (after %.1f s warm-up): p50 %.1f us, p95 %.1f us, p99 %.1f us, mean %.1f "
		"us\n",
		cfg->warmup_s, r->p50_us, r->p95_us, r->p99_us, r->mean_us);
	fprintf(f, "achieved %.0f QPS; %d of %d periods over the SLO\n", r->achieved_qps,
		r->violations, r->periods);
	fprintf(f,
		"cores: vCPU group %.2f, NQ group %.2f (LC cores %.2f), BE %.2f; BE VM got %.2f "
		"cores\n",
		r->mean_vcpu_cores, r->mean_nq_cores, r->mean_lc_cores, r->mean_be_cores,
		r->be_cores);
	fprintf(f,
		"utilization: u_vcpu %.3f, u_nq %.3f; thresholds at the end: vcpu %.3f, nq %.3f\n",
		r->u_vcpu, r->u_nq, r->th_vcpu, r->th_nq);
	{
		char hp[128];
		scen_halt_poll_text(cfg, hp, sizeof(hp));
		fprintf(f,
			"vCPU group: busy %.2f cores, of which KVM halt polling %.2f; U_v seen by "
			"the controller %.2f (%s)\n",
			r->busy_vcpu_raw, r->halt_poll_cores, r->busy_vcpu, hp);
	}
	fprintf(f, "power %.1f W (%.1f %% of the %.0f W TDP); energy %.1f J\n", r->power_w,
		100 * r->power_tdp, SIM_TDP_W, r->energy_j);
	fprintf(f,
		"per second: %.0f pIRQs, %.0f vIRQs, %.0f context switches, %.0f migrations, %.0f "
		"drops\n",
		r->pirqs_per_s, r->virqs_per_s, r->ctx_per_s, r->migrations_per_s, r->drops_per_s);
	fprintf(f, "VM exits per request %.2f; mean vIRQ wait %.1f us\n", r->exits_per_req,
		r->virq_wait_us);
	fprintf(f,
		"host interrupts %.0f/s (NIC %.0f, RES %.0f, CAL %.0f); wake-ups %.0f/s, %.1f %% "
		"onto "
		"an idle CPU; %.0f idle-CPU scans/s of %.1f CPUs\n",
		r->host_irqs_per_s, r->pirqs_per_s, r->res_per_s, r->cal_per_s, r->wakeups_per_s,
		100 * r->wake_idle_share, r->scans_per_s, r->scanned_per_scan);
	fprintf(f,
		"sharing cores: cache/TLB refill %.2f cores; IBPB %.0f/s, L1D flush %.0f/s, vCPU "
		"migrations %.0f/s: mitigations %.2f cores\n",
		r->refill_cores, r->ibpb_per_s, r->l1d_flush_per_s, r->vcpu_migrations_per_s,
		r->mitigation_cores);
	if (r->client_lost_per_s > 0)
		fprintf(f, "the client could not send %.0f requests/s: %d requests outstanding\n",
			r->client_lost_per_s, SIM_MAX_IN_FLIGHT);
	for (int i = 0; r->n_lc > 1 && i < r->n_lc; i++) {
		const struct sim_lc_result *l = &r->lc[i];
		char name[16];

		if (i == 0)
			snprintf(name, sizeof(name), "lc");
		else
			snprintf(name, sizeof(name), "lc%d", i + 1);
		fprintf(f,
			"LC workload %s: %.0f QPS offered, %.0f achieved, p95 %.1f us, p99 %.1f "
			"us, "
			"%d of %d periods over the SLO, cores %.2f + %.2f, %.2f exits per "
			"request\n",
			name, l->offered_qps, l->achieved_qps, l->p95_us, l->p99_us, l->violations,
			l->periods, l->mean_vcpu_cores, l->mean_nq_cores, l->exits_per_req);
	}
	fprintf(f, "mean time per request by stage (us):");
	for (int k = 0; k < SIM_STAGES; k++)
		fprintf(f, "%s %s %.1f", k ? ";" : "", sim_stage_names[k], r->stage_us[k]);
	fprintf(f, "\n");
	fprintf(f, "engine: %.2f M events in %.2f s wall (%.2f M events/s), %.1f s simulated\n",
		(double)r->events / 1e6, r->wall_s,
		r->wall_s > 0 ? (double)r->events / 1e6 / r->wall_s : 0, r->sim_s);
}

/* ---- sweep and energy: policies x loads ------------------------------------------- */

static int scen_grid(const struct sim_scen_opts *o, const char *cmd,
		     struct sim_run_config **cfgs_out, struct sim_run_result **res_out)
{
	int n = o->n_policies * o->n_loads;
	struct sim_run_config *cfgs;
	struct sim_run_result *res;
	char err[512];

	if (o->n_policies == 0 || o->n_loads == 0) {
		fprintf(stderr, "vspace sim %s: needs --policies LIST --loads LIST\n", cmd);
		return 2;
	}
	if (scen_check_policies(o, (char(*)[64])o->policies, o->n_policies, cmd) < 0)
		return 2;
	cfgs = calloc((size_t)n, sizeof(*cfgs));
	res = calloc((size_t)n, sizeof(*res));
	if (!cfgs || !res) {
		free(cfgs);
		free(res);
		fprintf(stderr, "vspace sim %s: out of memory\n", cmd);
		return 1;
	}
	for (int p = 0; p < o->n_policies; p++) {
		for (int l = 0; l < o->n_loads; l++) {
			struct sim_run_config *c = &cfgs[p * o->n_loads + l];
			*c = o->base;
			str_copy(c->policy, o->policies[p], sizeof(c->policy));
			c->n_phases = 1;
			c->phase[0].qps = o->loads[l];
			c->phase[0].duration_s = o->duration_s > 0 ? o->duration_s : SCEN_POINT_S;
			if (!o->warmup_set)
				c->warmup_s = SCEN_WARMUP_S;
			if (!o->window_set)
				c->params.window = SCEN_WINDOW;
			c->csv = NULL;
		}
	}
	if (sim_scen_parallel(cfgs, NULL, n, o->jobs, res, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace sim %s: %s\n", cmd, err);
		free(cfgs);
		free(res);
		return 1;
	}
	*cfgs_out = cfgs;
	*res_out = res;
	return 0;
}

static int scen_write_grid_csv(const struct sim_scen_opts *o, const struct sim_run_config *cfgs,
			       const struct sim_run_result *res, int n)
{
	FILE *f;

	if (!o->csv)
		return 0;
	f = fopen(o->csv, "w");
	if (!f) {
		fprintf(stderr, "vspace sim: cannot write %s: %s\n", o->csv, strerror(errno));
		return -1;
	}
	fprintf(f, "policy,workload,offered_qps,achieved_qps,p50_us,p95_us,p99_us,violations,"
		   "periods,lc_cores,vcpu_cores,nq_cores,u_vcpu,u_nq,power_w,energy_uj_per_req,"
		   "exits_per_req,ctx_per_s,virq_wait_us,drops_per_s,events,wall_s,busy_vcpu,"
		   "busy_vcpu_raw,halt_poll_cores\n");
	for (int i = 0; i < n; i++) {
		const struct sim_run_result *r = &res[i];
		fprintf(f,
			"%s,%s,%.0f,%.0f,%.1f,%.1f,%.1f,%d,%d,%.2f,%.2f,%.2f,%.4f,%.4f,%.2f,%.2f,%."
			"3f,"
			"%.0f,%.2f,%.1f,%llu,%.3f,%.3f,%.3f,%.3f\n",
			cfgs[i].policy, sim_workload_name(cfgs[i].wl), cfgs[i].phase[0].qps,
			r->achieved_qps, r->p50_us, r->p95_us, r->p99_us, r->violations, r->periods,
			r->mean_lc_cores, r->mean_vcpu_cores, r->mean_nq_cores, r->u_vcpu, r->u_nq,
			r->power_w, r->achieved_qps > 0 ? r->power_w / r->achieved_qps * 1e6 : 0,
			r->exits_per_req, r->ctx_per_s, r->virq_wait_us, r->drops_per_s,
			(unsigned long long)r->events, r->wall_s, r->busy_vcpu, r->busy_vcpu_raw,
			r->halt_poll_cores);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "vspace sim: writing %s: %s\n", o->csv, strerror(errno));
		return -1;
	}
	return 0;
}

static void scen_grid_header(const struct sim_scen_opts *o, FILE *out, const char *what)
{
	fprintf(out, "%-16s", what);
	for (int l = 0; l < o->n_loads; l++)
		fprintf(out, " %7.0fk", o->loads[l] / 1000);
}

/* Width of the policy column: the longest name, at least 16. */
static int scen_pol_width(const struct sim_scen_opts *o)
{
	int w = 16;

	for (int p = 0; p < o->n_policies; p++)
		if ((int)strlen(o->policies[p]) > w)
			w = (int)strlen(o->policies[p]);
	return w;
}

static bool scen_over(const struct sim_run_result *r, double slo_us)
{
	return isnan(r->p95_us) || r->p95_us > slo_us;
}

/* --refine: for each policy whose grid has a knee (a load within the SLO, the
 * next one over it), run the loads between them in steps of refine_qps and
 * set best[p] to the highest before the first violation. The runs are
 * appended to cfgs and res (n grows). Returns 0 or a process exit status. */
static int scen_refine(const struct sim_scen_opts *o, const double *first_bad, double *best,
		       struct sim_run_config **cfgs, struct sim_run_result **res, int *n)
{
	int extra = 0, at = *n;
	struct sim_run_config *c;
	struct sim_run_result *r;
	char err[512];

	for (int p = 0; p < o->n_policies; p++)
		if (best[p] >= 0 && first_bad[p] > 0)
			for (double q = best[p] + o->refine_qps; q < first_bad[p] - 1e-6;
			     q += o->refine_qps)
				extra++;
	if (extra == 0)
		return 0;
	c = realloc(*cfgs, sizeof(*c) * (size_t)(*n + extra));
	if (c)
		*cfgs = c;
	r = c ? realloc(*res, sizeof(*r) * (size_t)(*n + extra)) : NULL;
	if (r)
		*res = r;
	if (!c || !r) {
		fprintf(stderr, "vspace sim sweep: out of memory\n");
		return 1;
	}
	for (int p = 0; p < o->n_policies; p++) {
		if (!(best[p] >= 0 && first_bad[p] > 0))
			continue;
		for (double q = best[p] + o->refine_qps; q < first_bad[p] - 1e-6;
		     q += o->refine_qps) {
			c[at] = c[p * o->n_loads];
			c[at].phase[0].qps = q;
			at++;
		}
	}
	if (sim_scen_parallel(c + *n, NULL, extra, o->jobs, r + *n, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace sim sweep: %s\n", err);
		return 1;
	}
	/* each policy's points are in load order: the knee is before the first violation */
	at = *n;
	for (int p = 0; p < o->n_policies; p++) {
		bool broken = false;

		if (!(best[p] >= 0 && first_bad[p] > 0))
			continue;
		for (double q = best[p] + o->refine_qps; q < first_bad[p] - 1e-6;
		     q += o->refine_qps, at++) {
			if (scen_over(&r[at], o->base.slo_us))
				broken = true;
			if (!broken)
				best[p] = q;
		}
	}
	*n += extra;
	return 0;
}

int sim_scen_sweep(const struct sim_scen_opts *o, FILE *out)
{
	struct sim_run_config *cfgs = NULL;
	struct sim_run_result *res = NULL;
	int rc = scen_grid(o, "sweep", &cfgs, &res), n = o->n_policies * o->n_loads;
	int w = scen_pol_width(o);
	double total_wall = 0, best[SIM_SCEN_MAX_POLICIES], first_bad[SIM_SCEN_MAX_POLICIES];
	uint64_t events = 0;
	char hp[128];

	if (rc)
		return rc;
	/* loads in the order given: the highest before the first violation */
	for (int p = 0; p < o->n_policies; p++) {
		best[p] = -1;
		first_bad[p] = 0;
		for (int l = 0; l < o->n_loads; l++) {
			if (scen_over(&res[p * o->n_loads + l], o->base.slo_us)) {
				first_bad[p] = o->loads[l];
				break;
			}
			if (o->loads[l] > best[p])
				best[p] = o->loads[l];
		}
	}
	if (o->refine_qps > 0 && (rc = scen_refine(o, first_bad, best, &cfgs, &res, &n)) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		total_wall += res[i].wall_s;
		events += res[i].events;
	}
	scen_halt_poll_text(&o->base, hp, sizeof(hp));
	fprintf(out,
		"sweep: %s, SLO p95 <= %.0f us; %.1f s per point, the first %.1f s not measured; "
		"seed %llu; %s\n",
		sim_workload_name(o->base.wl), o->base.slo_us, cfgs[0].phase[0].duration_s,
		cfgs[0].warmup_s, (unsigned long long)o->base.seed, hp);
	fprintf(out,
		"p95 latency in us by offered load (\"ms\": milliseconds; * = over the SLO)\n\n");
	fprintf(out, "%-*s", w, "policy");
	for (int l = 0; l < o->n_loads; l++)
		fprintf(out, " %7.0fk", o->loads[l] / 1000);
	fprintf(out, " | max load within SLO");
	if (o->refine_qps > 0)
		fprintf(out, " (knee in %.0fk steps)", o->refine_qps / 1000);
	fprintf(out, "\n");
	for (int p = 0; p < o->n_policies; p++) {
		fprintf(out, "%-*s", w, o->policies[p]);
		for (int l = 0; l < o->n_loads; l++) {
			const struct sim_run_result *r = &res[p * o->n_loads + l];

			scen_print_us(out, 7, r->p95_us);
			fputc(scen_over(r, o->base.slo_us) ? '*' : ' ', out);
		}
		if (best[p] < 0)
			fprintf(out, " | below %.0fk\n", o->loads[0] / 1000);
		else if (first_bad[p] <= 0)
			fprintf(out, " | >= %.0fk (all tested)\n", best[p] / 1000);
		else
			fprintf(out, " | %.0fk\n", best[p] / 1000);
	}
	fprintf(out, "\nmean LC cores (vCPU group + NQ group; a time-shared group once)\n\n");
	fprintf(out, "%-*s", w, "policy");
	for (int l = 0; l < o->n_loads; l++)
		fprintf(out, " %7.0fk", o->loads[l] / 1000);
	fprintf(out, "\n");
	for (int p = 0; p < o->n_policies; p++) {
		fprintf(out, "%-*s", w, o->policies[p]);
		for (int l = 0; l < o->n_loads; l++)
			fprintf(out, " %8.1f", res[p * o->n_loads + l].mean_lc_cores);
		fprintf(out, "\n");
	}
	fprintf(out, "\n%d runs, %.1f M events, %.1f s of run time summed over processes\n", n,
		(double)events / 1e6, total_wall);
	rc = scen_write_grid_csv(o, cfgs, res, n) < 0 ? 1 : 0;
out:
	free(cfgs);
	free(res);
	return rc;
}

int sim_scen_energy(const struct sim_scen_opts *o, FILE *out)
{
	struct sim_run_config *cfgs = NULL;
	struct sim_run_result *res = NULL;
	int rc = scen_grid(o, "energy", &cfgs, &res);
	char hp[128];

	if (rc)
		return rc;
	scen_halt_poll_text(&o->base, hp, sizeof(hp));
	fprintf(out,
		"energy: %s, %.1f s per point, the first %.1f s not measured; model: %.1f W per "
		"busy core, %.1f W idle allocated (C1), %.1f W unallocated (C6), %.0f W uncore; "
		"TDP %.0f W; %s\n\n",
		sim_workload_name(o->base.wl), cfgs[0].phase[0].duration_s, cfgs[0].warmup_s,
		SIM_CORE_BUSY_W, SIM_CORE_C1_W, SIM_CORE_C6_W, SIM_UNCORE_W, SIM_TDP_W, hp);
	fprintf(out, "power in W (share of TDP) by offered load\n\n");
	scen_grid_header(o, out, "policy");
	fprintf(out, "\n");
	for (int p = 0; p < o->n_policies; p++) {
		fprintf(out, "%-16s", o->policies[p]);
		for (int l = 0; l < o->n_loads; l++)
			fprintf(out, " %5.1f(%2.0f)", res[p * o->n_loads + l].power_w,
				100 * res[p * o->n_loads + l].power_tdp);
		fprintf(out, "\n");
	}
	fprintf(out, "\nenergy per request in uJ\n\n");
	scen_grid_header(o, out, "policy");
	fprintf(out, "\n");
	for (int p = 0; p < o->n_policies; p++) {
		fprintf(out, "%-16s", o->policies[p]);
		for (int l = 0; l < o->n_loads; l++) {
			const struct sim_run_result *r = &res[p * o->n_loads + l];
			fprintf(out, " %8.0f",
				r->achieved_qps > 0 ? r->power_w / r->achieved_qps * 1e6 : 0);
		}
		fprintf(out, "\n");
	}
	fprintf(out, "\np95 latency in us (* = over the %.0f us SLO)\n\n", o->base.slo_us);
	scen_grid_header(o, out, "policy");
	fprintf(out, "\n");
	for (int p = 0; p < o->n_policies; p++) {
		fprintf(out, "%-16s", o->policies[p]);
		for (int l = 0; l < o->n_loads; l++) {
			const struct sim_run_result *r = &res[p * o->n_loads + l];
			scen_print_us(out, 7, r->p95_us);
			fputc(isnan(r->p95_us) || r->p95_us > o->base.slo_us ? '*' : ' ', out);
		}
		fprintf(out, "\n");
	}
	rc = scen_write_grid_csv(o, cfgs, res, o->n_policies * o->n_loads) < 0 ? 1 : 0;
	free(cfgs);
	free(res);
	return rc;
}

/* ---- dynamic and colocate: the load steps --------------------------------------------- */

static int scen_steps(const struct sim_scen_opts *o, const char *cmd, const char *kind,
		      const char *const *defaults, int n_default, bool with_be,
		      struct sim_run_config *cfgs, struct sim_run_result *res, char pols[][64],
		      int *n_out)
{
	char paths[SIM_SCEN_MAX_POLICIES][512];
	const char *pp[SIM_SCEN_MAX_POLICIES];
	double phase_s = o->phase_s > 0 ? o->phase_s : SCEN_PHASE_S;
	int n = o->n_policies;
	char err[512];

	if (n == 0) {
		for (int i = 0; i < n_default; i++)
			str_copy(pols[i], defaults[i], 64);
		n = n_default;
	} else {
		for (int i = 0; i < n; i++)
			str_copy(pols[i], o->policies[i], 64);
	}
	if (scen_check_policies(o, pols, n, cmd) < 0)
		return 2;
	if (o->out_dir && scen_mkdir(o->out_dir) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		struct sim_run_config *c = &cfgs[i];
		*c = o->base;
		str_copy(c->policy, pols[i], sizeof(c->policy));
		c->n_phases = sim_dynamic_steps;
		for (int k = 0; k < sim_dynamic_steps; k++)
			c->phase[k] = (struct sim_phase){ .duration_s = phase_s,
							  .qps = sim_dynamic_kqps[k] * 1000 };
		if (!o->warmup_set)
			c->warmup_s = 0;
		if (!o->window_set) {
			/* the scaled-down scenario: one exploration window per load step */
			long w = lround(phase_s / c->period_s);
			c->params.window = w < 1 ? 1 : (int)w;
		}
		if (with_be && c->n_be_vcpus == 0)
			c->n_be_vcpus = SCEN_BE_VCPUS;
		c->csv = NULL;
		pp[i] = NULL;
		if (o->out_dir) {
			scen_file_name(paths[i], sizeof(paths[i]), o->out_dir, kind, pols[i]);
			pp[i] = paths[i];
		}
	}
	if (sim_scen_parallel(cfgs, pp, n, o->jobs, res, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace sim %s: %s\n", cmd, err);
		return 1;
	}
	*n_out = n;
	return 0;
}

int sim_scen_dynamic(const struct sim_scen_opts *o, FILE *out)
{
	static const char *const defaults[] = { "vspace-p", "vspace-e", "static-ts:20:20" };
	struct sim_run_config cfgs[SIM_SCEN_MAX_POLICIES];
	struct sim_run_result res[SIM_SCEN_MAX_POLICIES];
	char pols[SIM_SCEN_MAX_POLICIES][64], hp[128];
	int n = 0, rc;

	rc = scen_steps(o, "dynamic", "dynamic", defaults, 3, false, cfgs, res, pols, &n);
	if (rc)
		return rc;
	scen_halt_poll_text(&o->base, hp, sizeof(hp));
	fprintf(out,
		"dynamic: %s, load %s kQPS, %.1f s per step (%d periods of %.0f ms), SLO p95 <= "
		"%.0f us, seed %llu\n%s\n\n",
		sim_workload_name(o->base.wl), "50-100-150-200-250-200-150-100-50",
		cfgs[0].phase[0].duration_s,
		(int)lround(cfgs[0].phase[0].duration_s / cfgs[0].period_s),
		cfgs[0].period_s * 1000, o->base.slo_us, (unsigned long long)o->base.seed, hp);
	fprintf(out, "%-22s", "p95 (us) per step");
	for (int i = 0; i < n; i++)
		fprintf(out, " | %-16s", pols[i]);
	fprintf(out, "\n");
	for (int k = 0; k < sim_dynamic_steps; k++) {
		char label[32];

		snprintf(label, sizeof(label), "%.0f kQPS", sim_dynamic_kqps[k]);
		fprintf(out, "%-22s", label);
		for (int i = 0; i < n; i++) {
			const struct sim_phase_result *pr = &res[i].phase[k];
			char cell[32];
			if (isnan(pr->p95_us))
				snprintf(cell, sizeof(cell), "-");
			else
				snprintf(cell, sizeof(cell), "%.0f%s", pr->p95_us,
					 pr->p95_us > o->base.slo_us ? " *" : "");
			fprintf(out, " | %-16s", cell);
		}
		fprintf(out, "\n");
	}
	fprintf(out, "%-22s", "SLO-violating periods");
	for (int i = 0; i < n; i++) {
		char cell[32];
		snprintf(cell, sizeof(cell), "%d of %d", res[i].violations, res[i].periods);
		fprintf(out, " | %-16s", cell);
	}
	fprintf(out, "\n%-22s", "mean cores vCPU + NQ");
	for (int i = 0; i < n; i++) {
		char cell[32];
		if (strncmp(pols[i], "static-ts", 9) == 0 || strcmp(pols[i], "es2") == 0 ||
		    strcmp(pols[i], "sriov") == 0)
			snprintf(cell, sizeof(cell), "%.0f time-shared", res[i].mean_lc_cores);
		else if (strcmp(pols[i], "corenap") == 0)
			snprintf(cell, sizeof(cell), "%.1f shared", res[i].mean_lc_cores);
		else
			snprintf(cell, sizeof(cell), "%.1f + %.1f", res[i].mean_vcpu_cores,
				 res[i].mean_nq_cores);
		fprintf(out, " | %-16s", cell);
	}
	fprintf(out, "\n%-22s", "vCPU busy - polling");
	for (int i = 0; i < n; i++) {
		char cell[32];
		snprintf(cell, sizeof(cell), "%.1f-%.1f=%.1f", res[i].busy_vcpu_raw,
			 res[i].halt_poll_cores, res[i].busy_vcpu_raw - res[i].halt_poll_cores);
		fprintf(out, " | %-16s", cell);
	}
	fprintf(out, "\n%-22s", "energy J (% of TDP)");
	for (int i = 0; i < n; i++) {
		char cell[32];
		snprintf(cell, sizeof(cell), "%.0f (%.0f %%)", res[i].energy_j,
			 100 * res[i].power_tdp);
		fprintf(out, " | %-16s", cell);
	}
	fprintf(out, "\n%-22s", "thresholds at the end");
	for (int i = 0; i < n; i++) {
		char cell[32];
		snprintf(cell, sizeof(cell), "%.2f / %.2f", res[i].th_vcpu, res[i].th_nq);
		fprintf(out, " | %-16s", cell);
	}
	fprintf(out, "\n");
	if (o->out_dir)
		fprintf(out, "\nper-period CSV: %s/dynamic-<policy>.csv\n", o->out_dir);
	return 0;
}

int sim_scen_colocate(const struct sim_scen_opts *o, FILE *out)
{
	static const char *const defaults[] = { "vspace-r", "demeter:1" };
	struct sim_run_config cfgs[SIM_SCEN_MAX_POLICIES];
	struct sim_run_result res[SIM_SCEN_MAX_POLICIES];
	char pols[SIM_SCEN_MAX_POLICIES][64], hp[128];
	int n = 0, rc;

	rc = scen_steps(o, "colocate", "colocate", defaults, 2, true, cfgs, res, pols, &n);
	if (rc)
		return rc;
	scen_halt_poll_text(&o->base, hp, sizeof(hp));
	fprintf(out,
		"colocate: %s LC VM + a %d-vCPU CPU-bound BE VM, load %s kQPS, %.1f s per step, "
		"SLO p95 <= %.0f us, seed %llu\n%s\n\n",
		sim_workload_name(o->base.wl), cfgs[0].n_be_vcpus,
		"50-100-150-200-250-200-150-100-50", cfgs[0].phase[0].duration_s, o->base.slo_us,
		(unsigned long long)o->base.seed, hp);
	fprintf(out, "%-10s", "step");
	for (int i = 0; i < n; i++)
		fprintf(out, " | %-28s", pols[i]);
	fprintf(out, "\n%-10s", "");
	for (int i = 0; i < n; i++)
		fprintf(out, " | %-28s", "p95 us / BE cores / SLO-ok");
	fprintf(out, "\n");
	for (int k = 0; k < sim_dynamic_steps; k++) {
		fprintf(out, "%3.0f kQPS  ", sim_dynamic_kqps[k]);
		for (int i = 0; i < n; i++) {
			const struct sim_phase_result *pr = &res[i].phase[k];
			char cell[64], p95[32];

			if (isnan(pr->p95_us))
				snprintf(p95, sizeof(p95), "-");
			else if (pr->p95_us >= 100000)
				snprintf(p95, sizeof(p95), "%.0fms", pr->p95_us / 1000);
			else
				snprintf(p95, sizeof(p95), "%.0f", pr->p95_us);
			snprintf(cell, sizeof(cell), "%6s / %5.1f / %d of %d", p95,
				 pr->mean_be_cores, pr->periods - pr->violations, pr->periods);
			fprintf(out, "| %-28s ", cell);
		}
		fprintf(out, "\n");
	}
	for (int i = 0; i < n; i++)
		fprintf(out,
			"%s: BE cores %.2f on average, BE VM CPU %.2f cores; LC cores %.2f; SLO "
			"kept in %d of %d periods (%.1f %%)\n",
			pols[i], res[i].mean_be_cores, res[i].be_cores, res[i].mean_lc_cores,
			res[i].periods - res[i].violations, res[i].periods,
			res[i].periods
				? 100.0 * (res[i].periods - res[i].violations) / res[i].periods
				: 0);
	if (o->out_dir)
		fprintf(out, "\nper-period CSV: %s/colocate-<policy>.csv\n", o->out_dir);
	return 0;
}
