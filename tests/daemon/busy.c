/* busy.c - a stand-in LC workload for the live tests: N threads that burn CPU (optionally a duty cycle) until killed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* busy N [DUTY_PERCENT] [PIDFILE]: N threads, each busy DUTY % of every 10 ms.
 * SIGUSR1 starts one more such thread (a thread born after vspaced placed the
 * process); SIGUSR2 starts one that lives 200 ms (thread churn). */
static int duty = 100;

static double busy_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *busy_thread(void *arg)
{
	volatile unsigned long x = 0;
	char name[16];

	snprintf(name, sizeof(name), "busy-%ld", (long)(size_t)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		double t0 = busy_now();
		while (busy_now() - t0 < 0.010 * duty / 100.0)
			x++;
		if (duty < 100) {
			struct timespec ts = { 0, (long)(10e6 * (100 - duty) / 100) };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void *busy_brief(void *arg)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	(void)arg;
	pthread_setname_np(pthread_self(), "busy-brief");
	nanosleep(&ts, NULL);
	return NULL;
}

/* A whole number in [lo, hi], or -1. */
static int busy_arg(const char *s, int lo, int hi)
{
	char *end;
	long v = strtol(s, &end, 10);
	return end == s || *end || v < lo || v > hi ? -1 : (int)v;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? busy_arg(argv[1], 1, 64) : 2;
	pthread_t t;
	pthread_attr_t detached;
	sigset_t sigs;
	long extra = n;

	/* the signals wait for sigwait below, in every thread */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	if (argc > 2)
		duty = busy_arg(argv[2], 1, 100);
	if (n < 1 || duty < 1) {
		fprintf(stderr, "usage: busy N [DUTY_PERCENT] [PIDFILE]\n");
		return 2;
	}
	for (long i = 0; i < n; i++)
		pthread_create(&t, NULL, busy_thread, (void *)(size_t)i);
	if (argc > 3) {
		FILE *f = fopen(argv[3], "w");
		if (!f)
			return 1;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			pthread_create(&t, &detached, busy_thread, (void *)(size_t)extra++);
		else
			pthread_create(&t, &detached, busy_brief, NULL);
	}
}
